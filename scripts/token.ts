/**
 * Prints a development bearer token: `bun run token <user-id> [--role admin] [--role publisher] [--ttl 3600]`.
 * Signs with AUTH_SECRET, or the fixed development secret when it is unset.
 */
import { createJwt, type Role } from "@bump/auth";
import { devAuthSecret } from "@bump/service";

const args = process.argv.slice(2);
const roles: Role[] = [];
let ttl = 24 * 3600;
let user: string | undefined;
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--role") {
    const r = args[++i];
    if (r !== "admin" && r !== "publisher") {
      console.error(`unknown role ${r}; use admin or publisher`);
      process.exit(2);
    }
    roles.push(r);
  } else if (a === "--ttl") ttl = Number(args[++i]);
  else user = a;
}
if (!user) {
  console.error("usage: bun run token <user-id> [--role admin|publisher] [--ttl seconds]");
  process.exit(2);
}
const jwt = createJwt(process.env.AUTH_SECRET ?? devAuthSecret);
console.log(await jwt.sign(user, { roles, ttlSeconds: ttl }));
