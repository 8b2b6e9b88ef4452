// The one way this app builds a supabase-js client: service-role key, no sessions, and
// keep-alive HTTP with a timeout (a hung call must not hold a worker slot forever).
import { createClient, type SupabaseClient } from '@supabase/supabase-js';
import ws from 'ws';
import { keepAliveFetch } from './http-fetch.ts';

export function createServiceClient(o: { url: string; serviceRoleKey: string; fetchTimeoutMs?: number }): SupabaseClient {
  return createClient(o.url, o.serviceRoleKey, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    // Node 20 has no global WebSocket; realtime is unused but must construct.
    realtime: { transport: ws as never },
    global: { fetch: keepAliveFetch(o.fetchTimeoutMs ?? 15_000) },
  });
}
