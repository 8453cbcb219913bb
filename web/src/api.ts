// The REST API (docs/API.md): one place that knows the token, turns error
// bodies into ApiError, and sends the user to the login page when the
// session is gone.

const TOKEN_KEY = "safelynx.token";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  per_page: number;
}

export type Classification = "trusted" | "known" | "unknown" | "flagged";

export interface Profile {
  id: string;
  name: string | null;
  classification: Classification;
  tags: string[];
  notes: string;
  embedding_count: number;
  sighting_count: number;
  first_seen: string | null;
  last_seen: string | null;
  created_at: string;
  updated_at: string;
  thumbnail_url: string | null;
  reviewed?: boolean; // an unknown profile someone has looked at (the review queue shows the others)
  [key: string]: unknown;
}

export type ProfileSummary = Pick<Profile, "id" | "name" | "classification" | "thumbnail_url">;

// A profile near another: enrolment's looks_like, GET /profiles/{id}/similar.
export interface NearProfile {
  profile: ProfileSummary;
  distance: number;
  likely_same?: boolean; // /similar only: within the match threshold
}

// POST /profiles/{id}/merge with dry_run: what the merge would make.
export interface MergeConflict {
  field: "name" | "classification" | "notes";
  values: string[];
  resolution: string;
}
export interface MergePreview {
  dry_run: true;
  profile: Profile;
  conflicts: MergeConflict[];
  refused: string[];
}

export interface Sighting {
  id: string;
  profile_id: string;
  camera_id: string;
  time: string;
  box: [number, number, number, number]; // x, y, width, height in frame pixels
  score: number;                         // detector score
  distance: number;                      // this face's match distance (L2)
  margin: number;                        // lead over the next profile (2: none near; 0: unknown, older sightings)
  corrected_from: string | null;         // the profile it first named, when its track turned out to be someone else
  snapshot_url: string | null;
  frame_url: string | null;
  recording_id: string | null;
  recording_offset_s: number | null;
  // Lists (GET /sightings, /profiles/{id}/sightings) name the profile too.
  profile?: Pick<Profile, "id" | "name" | "classification" | "thumbnail_url"> | null;
  [key: string]: unknown;
}

// GET /api/v1/profiles/{id}/faces: the stored faces that recognise a profile, best first.
export interface Face {
  id: number;
  quality: number; // 0..1
  created_at: string;
  has_photo: boolean; // older faces were stored without their photo
}
export interface FaceList {
  items: Face[];
  total: number;
  capacity: number;
}

// POST /api/v1/sightings/{id}/feedback: a person's correction of who a sighting is.
export interface Feedback {
  id: string | number;
  sighting_id: string;
  verdict: "is" | "is_not";
  profile_id: string;
  previous_profile_id: string;
  added_to_gallery: boolean;
  created_at: string;
  undone_at: string | null;
}

// POST /api/v1/search/face: every sighting of the face in a photo.
export interface FaceSearch {
  face: { box: [number, number, number, number] };
  radius: number;
  searched: number;
  total: number;
  page?: number;
  per_page?: number;
  items: Sighting[];
}

export interface Camera {
  id: string;
  name: string;
  kind: "usb" | "rtsp" | "http" | "file" | "browser";
  source: string;
  location: string;
  enabled: boolean;
  status: "active" | "connecting" | "error" | "stopped";
  status_message: string;
  live: null | {
    fps: number;
    last_frame_at: string | null;
    frames: number;
    dropped: number;
    processed: number;
    reconnects: number;
    recording: boolean;
  };
  [key: string]: unknown;
}

export interface Recording {
  id: string;
  camera_id: string;
  start: string;
  end: string | null;
  duration_s: number | null;
  size_bytes: number;
  video_url?: string;
  sighting_ids?: string[];               // GET /api/v1/recordings/{id} only
  sighting_count?: number;               // GET /api/v1/recordings (lists) only
  [key: string]: unknown;
}

// GET /api/v1/sightings/{id}: the sighting with its profile (null if deleted).
export interface SightingDetail extends Sighting {
  profile: Pick<Profile, "id" | "name" | "classification" | "thumbnail_url"> | null;
}

export interface TimelineCounts {
  from: string;
  to: string;
  bucket: "hour" | "day";
  counts: number[];
}

export interface HeatmapCounts {
  from: string;
  to: string;
  days: string[];
  counts: number[][];
  timezone: string;
}

export type Role = "viewer" | "operator" | "admin";

export interface User {
  id: number;
  username: string;
  role: Role;
  created_at: string;
}

// GET /api/v1/audit: one recorded change (docs/API.md, "Audit log").
export interface AuditEntry {
  id: number;
  time: string;
  user_id: number | null;
  actor: string;                 // the username, "system", or the name a failed login tried
  token_id: string | null;
  token_name: string | null;
  action: string;                // "profile.update"
  object_type: string | null;
  object_id: string | null;
  address: string | null;
  old_value: unknown;            // any JSON, null when none
  new_value: unknown;
}

// GET /api/v1/users/me: effective_role is what this session may do.
export interface Me extends User {
  effective_role: Role;
}

export function token(): string | null {
  return localStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string | null): void {
  if (value) localStorage.setItem(TOKEN_KEY, value);
  else localStorage.removeItem(TOKEN_KEY);
}

// Called when the server says the token is no longer good (set by main.ts).
let onUnauthorized: () => void = () => {};
export function whenUnauthorized(handler: () => void): void {
  onUnauthorized = handler;
}

// For <img>, <video> and WebSocket URLs, which cannot carry a header.
export function withToken(url: string): string {
  const t = token();
  if (!t) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(t);
}

export type Query = Record<string, string | number | boolean | null | undefined>;

export function queryString(query?: Query): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === null || value === undefined || value === "") continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? "?" + text : "";
}

async function request<T>(method: string, path: string, body?: BodyInit | object, query?: Query): Promise<T> {
  const headers: Record<string, string> = {};
  const t = token();
  if (t) headers["Authorization"] = "Bearer " + t;
  let payload: BodyInit | undefined;
  if (body instanceof FormData || body instanceof Blob || typeof body === "string") {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let response: Response;
  try {
    response = await fetch(path + queryString(query), { method, headers, body: payload });
  } catch {
    throw new ApiError(0, "network_error", "The server cannot be reached. Check that Safelynx is running.");
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!response.ok) {
    const error = (data as { error?: { code?: string; message?: string } } | undefined)?.error;
    const failure = new ApiError(
      response.status,
      error?.code ?? "http_" + response.status,
      error?.message ?? `${method} ${path} failed with HTTP ${response.status}`,
    );
    if (response.status === 401 && path !== "/api/v1/auth/login") onUnauthorized();
    throw failure;
  }
  return data as T;
}

export const api = {
  get: <T>(path: string, query?: Query) => request<T>("GET", path, undefined, query),
  post: <T>(path: string, body?: BodyInit | object, query?: Query) => request<T>("POST", path, body ?? {}, query),
  put: <T>(path: string, body: object) => request<T>("PUT", path, body),
  del: <T = void>(path: string) => request<T>("DELETE", path),
};

export function errorText(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}
