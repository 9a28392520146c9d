CREATE TYPE "public"."blood_group" AS ENUM('A_POS', 'A_NEG', 'B_POS', 'B_NEG', 'AB_POS', 'AB_NEG', 'O_POS', 'O_NEG');--> statement-breakpoint
CREATE TYPE "public"."request_status" AS ENUM('OPEN', 'FULFILLED', 'CANCELLED');--> statement-breakpoint
CREATE TYPE "public"."role" AS ENUM('DONOR', 'STAFF', 'ADMIN');--> statement-breakpoint
CREATE TYPE "public"."urgency" AS ENUM('ROUTINE', 'URGENT', 'EMERGENCY');--> statement-breakpoint
CREATE TABLE "blood_requests" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "blood_requests_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"hospital_id" integer NOT NULL,
	"blood_group" "blood_group" NOT NULL,
	"units_needed" integer NOT NULL,
	"units_fulfilled" integer DEFAULT 0 NOT NULL,
	"urgency" "urgency" NOT NULL,
	"status" "request_status" DEFAULT 'OPEN' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "blood_requests_units_needed_positive" CHECK ("blood_requests"."units_needed" > 0),
	CONSTRAINT "blood_requests_units_fulfilled_range" CHECK ("blood_requests"."units_fulfilled" >= 0 AND "blood_requests"."units_fulfilled" <= "blood_requests"."units_needed")
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "campaigns_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"title" text NOT NULL,
	"region" text NOT NULL,
	"hospital_id" integer NOT NULL,
	"starts_at" timestamp with time zone NOT NULL,
	"ends_at" timestamp with time zone NOT NULL,
	"goal_units" integer NOT NULL,
	"collected_units" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "campaigns_goal_positive" CHECK ("campaigns"."goal_units" > 0),
	CONSTRAINT "campaigns_dates_ordered" CHECK ("campaigns"."ends_at" > "campaigns"."starts_at")
);
--> statement-breakpoint
CREATE TABLE "donations" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "donations_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"donor_id" integer NOT NULL,
	"hospital_id" integer NOT NULL,
	"campaign_id" integer,
	"blood_group" "blood_group" NOT NULL,
	"units" integer NOT NULL,
	"donated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "donations_units_range" CHECK ("donations"."units" between 1 and 2)
);
--> statement-breakpoint
CREATE TABLE "donors" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "donors_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"blood_group" "blood_group" NOT NULL,
	"region" text NOT NULL,
	"city" text NOT NULL,
	"email" text,
	"phone" text,
	"last_donation_at" timestamp with time zone,
	"points" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "donors_points_nonnegative" CHECK ("donors"."points" >= 0)
);
--> statement-breakpoint
CREATE TABLE "hospitals" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "hospitals_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"name" text NOT NULL,
	"region" text NOT NULL,
	"city" text NOT NULL
);
--> statement-breakpoint
CREATE TABLE "inventory" (
	"hospital_id" integer NOT NULL,
	"blood_group" "blood_group" NOT NULL,
	"units" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "inventory_hospital_id_blood_group_pk" PRIMARY KEY("hospital_id","blood_group"),
	CONSTRAINT "inventory_units_nonnegative" CHECK ("inventory"."units" >= 0)
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "users_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"email" text NOT NULL,
	"password_hash" text NOT NULL,
	"role" "role" DEFAULT 'DONOR' NOT NULL,
	"donor_id" integer,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "blood_requests" ADD CONSTRAINT "blood_requests_hospital_id_hospitals_id_fk" FOREIGN KEY ("hospital_id") REFERENCES "public"."hospitals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "campaigns" ADD CONSTRAINT "campaigns_hospital_id_hospitals_id_fk" FOREIGN KEY ("hospital_id") REFERENCES "public"."hospitals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "donations" ADD CONSTRAINT "donations_donor_id_donors_id_fk" FOREIGN KEY ("donor_id") REFERENCES "public"."donors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "donations" ADD CONSTRAINT "donations_hospital_id_hospitals_id_fk" FOREIGN KEY ("hospital_id") REFERENCES "public"."hospitals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "donations" ADD CONSTRAINT "donations_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "inventory" ADD CONSTRAINT "inventory_hospital_id_hospitals_id_fk" FOREIGN KEY ("hospital_id") REFERENCES "public"."hospitals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_donor_id_donors_id_fk" FOREIGN KEY ("donor_id") REFERENCES "public"."donors"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "blood_requests_status_urgency_idx" ON "blood_requests" USING btree ("status","urgency","id");--> statement-breakpoint
CREATE INDEX "blood_requests_hospital_idx" ON "blood_requests" USING btree ("hospital_id","id");--> statement-breakpoint
CREATE INDEX "campaigns_region_starts_idx" ON "campaigns" USING btree ("region","starts_at");--> statement-breakpoint
CREATE INDEX "campaigns_ends_at_idx" ON "campaigns" USING btree ("ends_at");--> statement-breakpoint
CREATE INDEX "donations_donor_id_idx" ON "donations" USING btree ("donor_id","id");--> statement-breakpoint
CREATE INDEX "donations_campaign_id_idx" ON "donations" USING btree ("campaign_id","id");--> statement-breakpoint
CREATE INDEX "donations_hospital_id_idx" ON "donations" USING btree ("hospital_id");--> statement-breakpoint
CREATE INDEX "donors_blood_group_region_id_idx" ON "donors" USING btree ("blood_group","region","id");--> statement-breakpoint
CREATE INDEX "donors_region_id_idx" ON "donors" USING btree ("region","id");--> statement-breakpoint
CREATE INDEX "hospitals_region_name_idx" ON "hospitals" USING btree ("region","name");--> statement-breakpoint
CREATE INDEX "hospitals_name_idx" ON "hospitals" USING btree ("name");--> statement-breakpoint
CREATE INDEX "inventory_blood_group_units_idx" ON "inventory" USING btree ("blood_group","units");--> statement-breakpoint
CREATE UNIQUE INDEX "users_email_idx" ON "users" USING btree ("email");--> statement-breakpoint
CREATE UNIQUE INDEX "users_donor_id_idx" ON "users" USING btree ("donor_id");