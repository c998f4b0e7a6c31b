// Drives the official AWS JavaScript Bedrock Runtime client against an endpoint (Airlock's Bedrock front door or the
// scripted Bedrock upstream) and prints what it decoded, one JSON object per line on stdout:
//   {"event": <decoded Anthropic stream event>}   for each chunk of InvokeModelWithResponseStream
//   {"body": <decoded JSON>}                       for InvokeModel
//   {"done": true, "events": N}                   at the end
//   {"error": {"name", "message", "status"}}       when the client threw (exit code 2)
// Settings come from the environment:
//   AIRLOCK_ENDPOINT (required), AIRLOCK_REGION (default us-east-1), AIRLOCK_MODEL_ID (required),
//   AIRLOCK_MODE=stream|invoke (default stream), AIRLOCK_BODY (JSON request body, required),
//   AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY for SigV4, or AWS_BEARER_TOKEN_BEDROCK for an API key (bearer),
//   AIRLOCK_EXTRA_HEADER="Name: value" to add one header (e.g. the gateway key).
// The client's default handler speaks HTTP/2 (for the bidirectional-stream operation); the loopback test servers speak
// HTTP/1.1 without TLS, so the HTTP/1.1 handler is used, as a deployment behind a TLS-terminating proxy would.
import { BedrockRuntimeClient, InvokeModelCommand, InvokeModelWithResponseStreamCommand } from "@aws-sdk/client-bedrock-runtime";
import { NodeHttpHandler } from "@smithy/node-http-handler";

const env = process.env;
const out = (obj) => process.stdout.write(JSON.stringify(obj) + "\n");

const config = { region: env.AIRLOCK_REGION || "us-east-1", endpoint: env.AIRLOCK_ENDPOINT, maxAttempts: 1, requestHandler: new NodeHttpHandler() };
if (env.AWS_BEARER_TOKEN_BEDROCK) {
  config.token = { token: env.AWS_BEARER_TOKEN_BEDROCK };
  config.authSchemePreference = ["httpBearerAuth"];
} else {
  config.credentials = { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY };
}
const client = new BedrockRuntimeClient(config);
if (env.AIRLOCK_EXTRA_HEADER) {
  const colon = env.AIRLOCK_EXTRA_HEADER.indexOf(":");
  const name = env.AIRLOCK_EXTRA_HEADER.slice(0, colon).trim();
  const value = env.AIRLOCK_EXTRA_HEADER.slice(colon + 1).trim();
  client.middlewareStack.add((next) => (args) => {
    args.request.headers[name] = value;
    return next(args);
  }, { step: "build", name: "airlockExtraHeader" });
}

const input = { modelId: env.AIRLOCK_MODEL_ID, contentType: "application/json", accept: "application/json", body: new TextEncoder().encode(env.AIRLOCK_BODY) };
try {
  if ((env.AIRLOCK_MODE || "stream") === "invoke") {
    const response = await client.send(new InvokeModelCommand(input));
    out({ body: JSON.parse(new TextDecoder().decode(response.body)) });
    out({ done: true, events: 0 });
  } else {
    const response = await client.send(new InvokeModelWithResponseStreamCommand(input));
    let events = 0;
    for await (const item of response.body) {
      if (item.chunk?.bytes) {
        out({ event: JSON.parse(new TextDecoder().decode(item.chunk.bytes)) });
        events++;
      } else {
        out({ other: Object.keys(item) });
      }
    }
    out({ done: true, events });
  }
} catch (error) {
  out({ error: { name: error.name, message: error.message, status: error.$metadata?.httpStatusCode ?? null } });
  process.exit(2);
}
