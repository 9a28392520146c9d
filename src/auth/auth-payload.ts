/** The parent of the GraphQL `AuthPayload` (register, login, refreshToken); its `donor` field is resolved from donorId through a loader. */
export interface AuthPayloadResult {
  accessToken: string;
  refreshToken: string;
  /** The signed-in user's donor profile, null for STAFF/ADMIN accounts without one. */
  donorId: number | null;
}
