// The product stores over one RPC transport, for tests that talk to a store directly.
import type postgres from 'postgres';
import { BotSessionStore } from '../../src/db/bot-session.ts';
import { OrderStore } from '../../src/db/orders.ts';
import { RateLimitStore } from '../../src/db/rate-limit.ts';
import type { Rpc } from '../../src/db/rpc/index.ts';
import { postgresRpc } from '../../src/db/rpc/postgres.ts';
import { supabaseRpc } from '../../src/db/rpc/supabase.ts';
import { createServiceClient } from '../../src/db/supabase-client.ts';

export const restRpc = (o: { url: string; serviceRoleKey: string }): Rpc => supabaseRpc(createServiceClient(o));

export const storesOver = (rpc: Rpc) => ({ orders: new OrderStore(rpc), sessions: new BotSessionStore(rpc), limits: new RateLimitStore(rpc) });

export const postgresOrderStore = (sql: postgres.Sql) => new OrderStore(postgresRpc(sql));
export const postgresLimits = (sql: postgres.Sql) => new RateLimitStore(postgresRpc(sql));
