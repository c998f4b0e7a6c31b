// Checks a Bedrock invoke-with-response-stream answer: AWS event-stream frames (prelude with total and headers
// length and CRC32, headers, payload, message CRC32), each a chunk event whose payload is {"bytes":"<base64 JSON>"}.
// Prints "ok FRAMES FIRST_TYPE LAST_TYPE" when the frames are well formed, both CRCs match, the first event is
// message_start and the last message_stop; otherwise prints the problem and exits 1.
// Frame layout: https://docs.aws.amazon.com/transcribe/latest/dg/streaming-setting-up.html (event stream encoding).
"use strict";
const fs = require("fs");
const zlib = require("zlib");

const data = fs.readFileSync(process.argv[2]);
const types = [];
let offset = 0;
function fail(message) {
  console.log("bad " + message);
  process.exit(1);
}
if (typeof zlib.crc32 !== "function") fail("node " + process.version + " lacks zlib.crc32 (needs node >= 20.15)");
while (offset < data.length) {
  if (data.length - offset < 16) fail(`truncated frame at byte ${offset}`);
  const total = data.readUInt32BE(offset);
  const headersLength = data.readUInt32BE(offset + 4);
  if (total < 16 || offset + total > data.length) fail(`frame at byte ${offset} claims ${total} bytes`);
  if (zlib.crc32(data.subarray(offset, offset + 8)) !== data.readUInt32BE(offset + 8)) fail(`prelude CRC at byte ${offset}`);
  if (zlib.crc32(data.subarray(offset, offset + total - 4)) !== data.readUInt32BE(offset + total - 4)) fail(`message CRC at byte ${offset}`);
  const headers = {};
  let h = offset + 12;
  const headersEnd = h + headersLength;
  while (h < headersEnd) {
    const nameLength = data[h];
    const name = data.toString("utf8", h + 1, h + 1 + nameLength);
    h += 1 + nameLength;
    const kind = data[h];
    h += 1;
    if (kind !== 7) fail(`header ${name} has value type ${kind}, expected string (7)`);
    const valueLength = data.readUInt16BE(h);
    headers[name] = data.toString("utf8", h + 2, h + 2 + valueLength);
    h += 2 + valueLength;
  }
  if (headers[":message-type"] !== "event") fail(`frame ${types.length} is ${headers[":message-type"]}: ${data.toString("utf8", headersEnd, offset + total - 4)}`);
  const payload = JSON.parse(data.toString("utf8", headersEnd, offset + total - 4));
  const event = JSON.parse(Buffer.from(payload.bytes, "base64").toString("utf8"));
  types.push(event.type);
  offset += total;
}
if (types.length === 0) fail("no frames");
if (types[0] !== "message_start") fail("first event is " + types[0]);
if (types[types.length - 1] !== "message_stop") fail("last event is " + types[types.length - 1]);
console.log(`ok ${types.length} ${types[0]} ${types[types.length - 1]}`);
