import {
  bigint,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  real,
  text,
  timestamp,
  uuid,
} from "drizzle-orm/pg-core";

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

/**
 * Location history, one row per accepted fix. `id` is the message id (client UUID or one minted at ingest), so
 * a redelivered fix is written once. Scale path: range-partition by `recorded_at` (one partition per day).
 */
export const locations = pgTable(
  "locations",
  {
    id: uuid("id").primaryKey(),
    userId: text("user_id").notNull(),
    latitude: doublePrecision("latitude").notNull(),
    longitude: doublePrecision("longitude").notNull(),
    /** Metres. */
    accuracy: real("accuracy"),
    /** Metres. */
    altitude: real("altitude"),
    /** H3 cell at resolution 10. */
    cell: text("cell").notNull(),
    recordedAt: timestamptz("recorded_at").notNull(),
    receivedAt: timestamptz("received_at").notNull().defaultNow(),
  },
  (t) => [index("locations_user_recorded_idx").on(t.userId, t.recordedAt)],
);

/** Detected bumps; `id` is the detector's id, so a redelivered bump is written once. */
export const bumps = pgTable(
  "bumps",
  {
    id: text("id").primaryKey(),
    userA: text("user_a").notNull(),
    userB: text("user_b").notNull(),
    distanceM: real("distance_m").notNull(),
    latitude: doublePrecision("latitude").notNull(),
    longitude: doublePrecision("longitude").notNull(),
    /** H3 cell at resolution 10. */
    cell: text("cell").notNull(),
    at: timestamptz("at").notNull(),
  },
  (t) => [index("bumps_user_a_at_idx").on(t.userA, t.at), index("bumps_user_b_at_idx").on(t.userB, t.at)],
);

/** Map entities, last-writer-wins on `updated_at`; a delete is a tombstone (`deleted_at` set). */
export const entities = pgTable(
  "entities",
  {
    id: text("id").primaryKey(),
    kind: text("kind").notNull(),
    latitude: doublePrecision("latitude").notNull(),
    longitude: doublePrecision("longitude").notNull(),
    data: jsonb("data").$type<Record<string, unknown>>().notNull().default({}),
    /** User ids allowed to see the entity; null: everyone. */
    audience: text("audience").array(),
    updatedAt: timestamptz("updated_at").notNull(),
    deletedAt: timestamptz("deleted_at"),
  },
  (t) => [index("entities_lat_lng_idx").on(t.latitude, t.longitude), index("entities_kind_idx").on(t.kind)],
);

/** Durable job history and archive; the live queue state is in Redis. */
export const jobs = pgTable(
  "jobs",
  {
    id: text("id").primaryKey(),
    queue: text("queue").notNull(),
    owner: text("owner").notNull(),
    state: text("state").notNull(),
    priority: text("priority").notNull().default("normal"),
    data: jsonb("data").$type<unknown>().notNull(),
    result: jsonb("result").$type<unknown>(),
    error: text("error"),
    attempts: integer("attempts").notNull().default(0),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    finishedAt: timestamptz("finished_at"),
  },
  (t) => [index("jobs_owner_created_idx").on(t.owner, t.createdAt)],
);

/** Chat groups. */
export const groups = pgTable("groups", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  createdBy: text("created_by").notNull(),
  createdAt: timestamptz("created_at").notNull().defaultNow(),
});

/** Group membership, one row per (group, user). */
export const groupMembers = pgTable(
  "group_members",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "cascade" }),
    userId: text("user_id").notNull(),
    joinedAt: timestamptz("joined_at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index("group_members_user_idx").on(t.userId)],
);

/**
 * Group messages ordered by a per-group sequence `seq`; `id` is the client's message id,
 * unique, so a retried send is stored once.
 */
export const groupMessages = pgTable(
  "group_messages",
  {
    groupId: text("group_id")
      .notNull()
      .references(() => groups.id, { onDelete: "cascade" }),
    seq: bigint("seq", { mode: "number" }).notNull(),
    id: text("id").notNull().unique(),
    sender: text("sender").notNull(),
    text: text("text").notNull(),
    at: timestamptz("at").notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.seq] })],
);

/** A location history row as written. */
export type LocationInsert = typeof locations.$inferInsert;
/** A bump row as written. */
export type BumpInsert = typeof bumps.$inferInsert;
/** An entity row as read. */
export type Entity = typeof entities.$inferSelect;
/** A job archive row as read. */
export type Job = typeof jobs.$inferSelect;
