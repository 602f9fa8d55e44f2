import { type BumpRecord, bumpsPage, bumpsQuery } from "@bump/contracts";
import { type Db, listBumpsForUser } from "@bump/db";
import { Hono } from "hono";
import type { ApiEnv } from "../context.ts";
import type { RouteModule } from "./route-module.ts";

/** Most bumps one user can share a single instant with that a page still returns whole. */
const MAX_TIE = 1_000;

/**
 * One page of `userId`'s bumps, newest first, with `next_before` set only when older bumps exist. A page never
 * ends inside a group of bumps sharing one `at` (a fix can bump several people at once), because `before` is
 * exclusive: the group moves whole to the next page, or, when it alone fills the page, is returned whole.
 */
export async function bumpsPageFor(
  db: Db,
  userId: string,
  limit: number,
  before?: string,
): Promise<{ bumps: BumpRecord[]; next_before: string | null }> {
  const rows = await listBumpsForUser(db, userId, { limit: limit + 1, before });
  if (rows.length <= limit) return { bumps: rows, next_before: null };
  let page = rows.slice(0, limit);
  const edge = (page[limit - 1] as BumpRecord).at;
  if ((rows[limit] as BumpRecord).at === edge) {
    page = page.filter((b) => b.at !== edge);
    if (page.length === 0) {
      const after = new Date(Date.parse(edge) + 1).toISOString();
      const tied = await listBumpsForUser(db, userId, { limit: MAX_TIE, before: after });
      page = tied.filter((b) => b.at === edge);
      return { bumps: page, next_before: edge };
    }
  }
  return { bumps: page, next_before: (page[page.length - 1] as BumpRecord).at };
}

/** `GET /v1/bumps?limit&before`: the caller's own bumps (either side), newest first, from Postgres. */
export const bumpRoutes: RouteModule = (deps, openapi) => {
  const app = new Hono<ApiEnv>();
  app.get("/v1/bumps", async (c) => {
    const q = bumpsQuery.parse(c.req.query());
    return c.json(await bumpsPageFor(deps.db, c.get("identity").userId, q.limit, q.before));
  });
  openapi.add({
    method: "get",
    path: "/v1/bumps",
    summary: "The caller's bumps, newest first; page with `before=next_before`",
    tags: ["bumps"],
    query: bumpsQuery,
    responses: { 200: { description: "a page of bumps", schema: bumpsPage } },
  });
  return app;
};
