using System.Buffers;
using System.Text.Json;
using Airlock.Gateway.Pipeline;
using Airlock.Gateway.Upstreams;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Airlock.Gateway.Doors;

/// <summary>
/// The Bedrock Runtime front door, for Claude Code with <c>CLAUDE_CODE_USE_BEDROCK=1</c> and
/// <c>ANTHROPIC_BEDROCK_BASE_URL=https://gateway/bedrock</c>: <c>POST /bedrock/model/{id}/invoke</c> and
/// <c>/invoke-with-response-stream</c>, with the model id (or inference profile, or ARN with <c>%2F</c>) read from the raw
/// request target. Streamed answers are AWS event-stream <c>chunk</c> frames; errors are AWS-shaped JSON
/// (<c>{"message"}</c> + <c>x-amzn-ErrorType</c>) before the stream and exception frames after. The
/// <c>inference-profiles</c> calls Claude Code makes at start-up are answered from the routes. <c>count-tokens</c> is unwrapped
/// and counted by whichever upstream the route leads to; its answer is <c>{"inputTokens":N}</c>.
/// </summary>
internal sealed class BedrockDoor(GatewayPipeline pipeline) : FrontDoor
{
    /// <summary>The door's path prefix.</summary>
    public const string Prefix = "/bedrock";

    /// <inheritdoc/>
    public override string Name => "bedrock";

    /// <inheritdoc/>
    public override string StreamContentType => BedrockFrames.ContentType;

    /// <summary>Maps the door's endpoints.</summary>
    public void Map(IEndpointRouteBuilder endpoints)
    {
        // Every POST under the prefix: Kestrel resolves dot segments (also %2e%2e) in Request.Path, so a trick that
        // leaves /model still reaches the door, whose parser reads the raw target and refuses it with an audit record.
        endpoints.MapPost(Prefix + "/{**rest}", HandleAsync);
        endpoints.MapGet(Prefix + "/inference-profiles", ListProfilesAsync);
        endpoints.MapGet(Prefix + "/inference-profiles/{**id}", GetProfileAsync);
    }

    private Task HandleAsync(HttpContext context)
    {
        var raw = RawPath.Of(context);
        var path = raw.StartsWith(Prefix, StringComparison.Ordinal) ? raw[Prefix.Length..] : raw;
        DoorRequest request;
        string operation;
        if (BedrockModelId.TryParseInvokePath(path, out var modelId, out var bedrockOperation, out var error) && bedrockOperation == BedrockOperation.CountTokens)
        {
            // CountTokens wraps an InvokeModel body (base64 in input.invokeModel.body); the pipeline unwraps it, and any
            // upstream that counts tokens answers (Messages count_tokens, Bedrock CountTokens, Vertex count-tokens).
            operation = "count_tokens";
            request = new DoorRequest(CallOperation.CountTokens, BodyShape.Bedrock) { PathModel = modelId, PathStream = false, WrapsInvokeBody = true };
        }
        else if (error is null)
        {
            var stream = bedrockOperation == BedrockOperation.InvokeWithResponseStream;
            operation = stream ? "invoke_with_response_stream" : "invoke";
            request = new DoorRequest(CallOperation.Messages, BodyShape.Bedrock) { PathModel = modelId, PathStream = stream };
        }
        else
        {
            operation = "invoke";
            request = new DoorRequest(CallOperation.Messages, BodyShape.Bedrock)
            {
                Refusal = GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest, "invalid model path: " + error, "invalid_path"),
            };
        }
        return pipeline.HandleCallAsync(context, this, operation, request);
    }

    /// <summary>
    /// <c>ListInferenceProfiles</c>: one system-defined profile per model id the routes name literally that looks like a
    /// Bedrock id, so Claude Code's start-up discovery sees what this gateway serves.
    /// </summary>
    private Task ListProfilesAsync(HttpContext context) =>
        pipeline.RunAsync(context, this, "list_inference_profiles", async exchange =>
        {
            var ids = pipeline.Router.LiteralModels().Select(m => m.Model).Where(IsProfileLike).Distinct(StringComparer.Ordinal).ToList();
            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteStartArray("inferenceProfileSummaries");
                foreach (var id in ids)
                {
                    WriteProfile(writer, id);
                }
                writer.WriteEndArray();
                writer.WriteEndObject();
            }
            await WriteJsonAsync(context, exchange, buffer.WrittenMemory).ConfigureAwait(false);
        });

    /// <summary><c>GetInferenceProfile</c> for a profile id or ARN the routes serve; 404 <c>ResourceNotFoundException</c> otherwise.</summary>
    private Task GetProfileAsync(HttpContext context) =>
        pipeline.RunAsync(context, this, "get_inference_profile", async exchange =>
        {
            var raw = RawPath.Of(context);
            var encoded = raw[(Prefix + "/inference-profiles/").Length..];
            var id = RawPath.DecodeSegment(encoded, out var problem);
            if (id is null || BedrockModelId.Validate(id) is not null)
            {
                await GatewayPipeline.RejectAsync(context, exchange, this, GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                    "invalid inference profile identifier" + (problem is null ? "" : ": it " + problem), "invalid_path")).ConfigureAwait(false);
                return;
            }
            exchange.Model = id;
            if (pipeline.Router.ResolveAll(id).Count == 0)
            {
                await GatewayPipeline.RejectAsync(context, exchange, this, GatewayPipeline.Reject(404, AnthropicErrors.NotFound,
                    $"inference profile '{Clip(id)}' is not served by this gateway", "no_route")).ConfigureAwait(false);
                return;
            }
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                WriteProfile(writer, id);
            }
            await WriteJsonAsync(context, exchange, buffer.WrittenMemory).ConfigureAwait(false);
        });

    private static async Task WriteJsonAsync(HttpContext context, Exchange exchange, ReadOnlyMemory<byte> json)
    {
        exchange.Status = 200;
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        exchange.ResponseBytes += json.Length;
        await context.Response.Body.WriteAsync(json, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>An InferenceProfileSummary (Bedrock control-plane API shape) for <paramref name="id"/>.</summary>
    private static void WriteProfile(Utf8JsonWriter writer, string id)
    {
        var arn = id.StartsWith("arn:", StringComparison.Ordinal) ? id : "arn:aws:bedrock:airlock::inference-profile/" + id;
        var profileId = id.StartsWith("arn:", StringComparison.Ordinal) ? id[(id.LastIndexOf('/') + 1)..] : id;
        // A profile id is a foundation-model id behind a geography prefix (us., eu., apac., global.).
        var dot = profileId.IndexOf('.', StringComparison.Ordinal);
        var foundation = dot > 0 && !profileId.StartsWith("anthropic.", StringComparison.Ordinal) ? profileId[(dot + 1)..] : profileId;
        writer.WriteStartObject();
        writer.WriteString("inferenceProfileName", profileId);
        writer.WriteString("inferenceProfileId", profileId);
        writer.WriteString("inferenceProfileArn", arn);
        writer.WriteString("description", "served by the Airlock gateway");
        writer.WriteString("status", "ACTIVE");
        writer.WriteString("type", id.Contains("application-inference-profile", StringComparison.Ordinal) ? "APPLICATION" : "SYSTEM_DEFINED");
        writer.WriteString("createdAt", "2025-01-01T00:00:00Z");
        writer.WriteString("updatedAt", "2025-01-01T00:00:00Z");
        writer.WriteStartArray("models");
        writer.WriteStartObject();
        writer.WriteString("modelArn", "arn:aws:bedrock:airlock::foundation-model/" + foundation);
        writer.WriteEndObject();
        writer.WriteEndArray();
        writer.WriteEndObject();
    }

    private static bool IsProfileLike(string model) => model.Contains("anthropic.", StringComparison.Ordinal) || model.StartsWith("arn:", StringComparison.Ordinal);

    /// <summary>AWS-shaped error: status, <c>x-amzn-ErrorType</c> and <c>{"message":…}</c> (what the AWS SDKs parse).</summary>
    public override async ValueTask<int> WriteErrorAsync(HttpContext context, GatewayError error)
    {
        var shape = ShapeFor(error);
        context.Response.ContentType = "application/json";
        context.Response.Headers[BedrockErrors.ErrorTypeHeader] = shape.ErrorType;
        var bytes = BedrockErrors.Body(error.Message);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        return bytes.Length;
    }

    /// <summary>An exception frame (<c>:message-type exception</c>), which the AWS SDKs raise as an error.</summary>
    public override ReadOnlyMemory<byte> StreamError(GatewayError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        BedrockFrames.WriteException(buffer, ShapeFor(error), error.Message);
        return buffer.WrittenMemory;
    }

    /// <inheritdoc/>
    public override void PrepareStream(HttpResponse response) => response.Headers[BedrockFrames.PayloadContentTypeHeader] = "application/json";

    /// <inheritdoc/>
    public override AnswerEncoder CreateStreamEncoder() => new BedrockAnswerEncoder();

    /// <inheritdoc/>
    public override ResponseTranslator? CreateAnswerTranslator(string operation) => operation == "count_tokens" ? TokenCountTranslator.MessagesToBedrock() : null;

    /// <summary>The Bedrock error for a gateway error: the status decides where it is specific, else the Anthropic type.</summary>
    private static BedrockErrorShape ShapeFor(GatewayError error) => error.Status switch
    {
        401 => BedrockErrors.UnrecognizedClient,
        403 => BedrockErrors.AccessDenied,
        404 => BedrockErrors.ResourceNotFound,
        429 => BedrockErrors.Throttling,
        503 or 529 => BedrockErrors.ServiceUnavailable,
        _ => BedrockErrors.ForAnthropicType(error.Type),
    };

    private static string Clip(string value) => value.Length <= 128 ? value : value[..128] + "…";


    /// <summary>Messages SSE events → Bedrock <c>chunk</c> frames; an SSE <c>error</c> event → an exception frame.</summary>
    private sealed class BedrockAnswerEncoder : AnswerEncoder
    {
        private readonly ArrayBufferWriter<byte> _frames = new(16 * 1024);

        public override ReadOnlyMemory<byte> Pending => _frames.WrittenMemory;

        public override void Clear() => _frames.ResetWrittenCount();

        public override void OnEvent(ReadOnlySpan<byte> eventType, ReadOnlySpan<byte> data)
        {
            if (eventType.SequenceEqual("error"u8))
            {
                var (type, message) = BedrockErrors.ReadAnthropicError(data);
                BedrockFrames.WriteException(_frames, BedrockErrors.ForAnthropicType(type), message);
                return;
            }
            BedrockFrames.WriteChunk(_frames, data);
        }
    }
}
