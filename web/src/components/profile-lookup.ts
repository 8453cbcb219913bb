// Names and classifications for sightings: taken from the list when it
// carries them (rememberFrom), else each profile is fetched once (a few at
// a time) and remembered; a deleted profile resolves to null.
import { ApiError, api, type Profile } from "../api.js";

export type ProfileSummary = Pick<Profile, "id" | "name" | "classification" | "thumbnail_url">;

const PARALLEL = 4;

export class ProfileLookup {
  private readonly known = new Map<string, Promise<ProfileSummary | null>>();
  private readonly queue: Array<() => void> = [];
  private running = 0;

  // Seeds the cache with a profile the page already has (events, other lists).
  remember(profile: ProfileSummary): void {
    this.known.set(profile.id, Promise.resolve(profile));
  }

  // Lists of sightings carry their profile's summary (null: deleted).
  rememberFrom(sightings: Iterable<{ profile_id: string; profile?: ProfileSummary | null }>): void {
    for (const s of sightings) if (s.profile !== undefined) this.known.set(s.profile_id, Promise.resolve(s.profile));
  }

  forget(id: string): void {
    this.known.delete(id);
  }

  get(id: string): Promise<ProfileSummary | null> {
    let found = this.known.get(id);
    if (!found) {
      found = this.limited(() => api.get<Profile>(`/api/v1/profiles/${encodeURIComponent(id)}`)).then(
        (profile) => profile,
        (error: unknown) => {
          if (error instanceof ApiError && error.status === 404) return null;
          this.known.delete(id); // try again next time
          throw error;
        },
      );
      this.known.set(id, found);
    }
    return found;
  }

  async getMany(ids: Iterable<string>): Promise<Map<string, ProfileSummary | null>> {
    const unique = [...new Set(ids)];
    const results = await Promise.all(unique.map((id) => this.get(id)));
    return new Map(unique.map((id, i) => [id, results[i] ?? null]));
  }

  private limited<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const run = () => {
        this.running++;
        task()
          .then(resolve, reject)
          .finally(() => {
            this.running--;
            this.queue.shift()?.();
          });
      };
      if (this.running < PARALLEL) run();
      else this.queue.push(run);
    });
  }
}
