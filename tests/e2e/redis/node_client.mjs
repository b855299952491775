// node-redis (npm "redis") against the gateway: connect, set, get, a
// pipeline, an error reply, and the connection usable after it.
//   node node_client.mjs PORT
import { createClient } from "redis";

const port = Number(process.argv[2]);
const client = createClient({ url: `redis://127.0.0.1:${port}` });
client.on("error", (err) => {
  console.error("client error:", err);
  process.exit(1);
});
await client.connect();

function check(condition, what) {
  if (!condition) {
    console.error("node-redis: " + what);
    process.exit(1);
  }
}

check((await client.ping()) === "PONG", "PING");
check((await client.set("js:k", "v1")) === "OK", "SET");
check((await client.get("js:k")) === "v1", "GET");
const pipeline = client.multi();
for (let i = 0; i < 100; i++) pipeline.set(`js:p${i}`, `value-${i}`);
for (let i = 0; i < 100; i++) pipeline.get(`js:p${i}`);
const replies = await pipeline.execAsPipeline();
check(replies.slice(0, 100).every((r) => r === "OK"), "pipelined SETs");
check(replies.slice(100).every((r, i) => r === `value-${i}`), "pipelined GETs");
check(
  JSON.stringify(await client.mGet(["js:p1", "js:none"])) === '["value-1",null]',
  "MGET",
);
let refused = false;
try {
  await client.sendCommand(["HSET", "h", "f", "v"]);
} catch (err) {
  refused = /unknown command/.test(String(err));
}
check(refused, "HSET must be answered with an unknown-command error");
check((await client.get("js:k")) === "v1", "usable after an error");
check((await client.del("js:k")) === 1, "DEL");
await client.quit();
console.log("node-redis: ok");
