import type { Viewer } from '../auth/types.js';
import type { Role } from '../db/schema.js';
import { forbidden, unauthenticated } from './errors.js';

/** The signed-in viewer, or UNAUTHENTICATED. */
export function requireViewer(viewer: Viewer | null): Viewer {
  if (!viewer) throw unauthenticated();
  return viewer;
}

/** The viewer if their role is one of `roles`; UNAUTHENTICATED without a viewer, FORBIDDEN otherwise. */
export function requireRole(viewer: Viewer | null, ...roles: Role[]): Viewer {
  const v = requireViewer(viewer);
  if (!roles.includes(v.role)) throw forbidden(`This needs the ${roles.join(' or ')} role; you are ${v.role}.`);
  return v;
}

export const isStaff = (viewer: Viewer | null) => viewer?.role === 'STAFF' || viewer?.role === 'ADMIN';

/** PRIVATE donor fields are visible to the donor themself, STAFF and ADMIN. */
export const canSeePrivate = (viewer: Viewer | null, donorId: number) => isStaff(viewer) || viewer?.donorId === donorId;
