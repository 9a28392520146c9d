CREATE TABLE "cache_invalidations" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"keyspace" text NOT NULL,
	"tags" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"applied_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "cache_leases" (
	"instance_id" text PRIMARY KEY NOT NULL,
	"keyspace" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE INDEX "cache_invalidations_outstanding_idx" ON "cache_invalidations" USING btree ("keyspace","id") WHERE "cache_invalidations"."applied_at" IS NULL;--> statement-breakpoint
CREATE INDEX "cache_invalidations_applied_idx" ON "cache_invalidations" USING btree ("applied_at");--> statement-breakpoint
CREATE INDEX "cache_leases_keyspace_idx" ON "cache_leases" USING btree ("keyspace","expires_at");