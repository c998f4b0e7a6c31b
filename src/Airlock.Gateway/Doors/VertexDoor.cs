using System.Buffers;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Airlock.Gateway.Doors;

/// <summary>
/// The Vertex AI front door, for Claude Code with <c>CLAUDE_CODE_USE_VERTEX=1</c> and
/// <c>ANTHROPIC_VERTEX_BASE_URL=https://gateway/vertex/v1</c>:
/// <c>POST /vertex/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict</c>, <c>:streamRawPredict</c>
/// and <c>models/count-tokens:rawPredict</c>. The model comes from the path, <c>stream</c> from the body; answers are
/// Anthropic SSE/JSON as Vertex sends them; errors are Google-shaped (<c>{"error":{"code","message","status"}}</c>).
/// The project in the path is the client's view; the gateway's upstreams use their configured project.
/// </summary>
internal sealed class VertexDoor(GatewayPipeline pipeline, AirlockConfig config) : FrontDoor
{
    /// <summary>The door's path prefix.</summary>
    public const string Prefix = "/vertex/v1";

    /// <inheritdoc/>
    public override string Name => "vertex";

    /// <summary>Maps the door's endpoints.</summary>
    public void Map(IEndpointRouteBuilder endpoints)
    {
        // Also the bare /vertex prefix: Kestrel resolves dot segments (%2e%2e too) in Request.Path; the raw target is parsed.
        endpoints.MapPost("/vertex/{**path}", HandleAsync);
    }

    private Task HandleAsync(HttpContext context)
    {
        var request = Parse(RawPath.Of(context), config.AllowedRegions, out var operation);
        return pipeline.HandleCallAsync(context, this, operation, request);
    }

    /// <summary>Reads a raw request path into a door request; problems become a refusal reported after authentication.</summary>
    internal static DoorRequest Parse(string rawPath, IReadOnlyList<string> allowedRegions, out string operation)
    {
        operation = "messages";
        var rest = rawPath.StartsWith(Prefix + "/", StringComparison.Ordinal) ? rawPath[(Prefix.Length + 1)..] : "";
        var segments = rest.Split('/');
        // projects/{p}/locations/{l}/publishers/anthropic/models/{m}:{method}
        if (segments.Length != 8 || segments[0] != "projects" || segments[2] != "locations" || segments[4] != "publishers"
            || segments[5] != "anthropic" || segments[6] != "models")
        {
            return Refused(404, AnthropicErrors.NotFound,
                "unknown Vertex path; expected /vertex/v1/projects/{project}/locations/{location}/publishers/anthropic/models/{model}:rawPredict", "unknown_path");
        }
        var decoded = new string?[segments.Length];
        foreach (var index in (int[])[1, 3, 7])
        {
            decoded[index] = RawPath.DecodeSegment(segments[index], out var problem);
            if (decoded[index] is null)
            {
                return Refused(400, AnthropicErrors.InvalidRequest, $"path segment {index + 1} {problem}", "invalid_path");
            }
        }
        var location = decoded[3]!;
        var last = decoded[7]!;
        var colon = last.LastIndexOf(':');
        var method = colon >= 0 ? last[(colon + 1)..] : "";
        var model = colon >= 0 ? last[..colon] : last;
        if (method is not ("rawPredict" or "streamRawPredict"))
        {
            return Refused(404, AnthropicErrors.NotFound, $"unknown Vertex method ':{method}'; expected :rawPredict or :streamRawPredict", "unknown_path");
        }
        if (allowedRegions.Count > 0 && !allowedRegions.Contains(location))
        {
            return Refused(403, AnthropicErrors.Permission,
                $"location '{Clip(location)}' is not allowed by this gateway (allowed: {string.Join(", ", allowedRegions)})", "region_not_allowed");
        }
        if (model == "count-tokens" && method == "rawPredict")
        {
            // The count-tokens body keeps its model (Vertex "count tokens" docs).
            operation = "count_tokens";
            return new DoorRequest(CallOperation.CountTokens, BodyShape.Vertex);
        }
        if (!Upstreams.VertexModelName.IsValid(model))
        {
            return Refused(400, AnthropicErrors.InvalidRequest, $"model '{Clip(model)}' is not a valid Vertex model name", "invalid_model");
        }
        return new DoorRequest(CallOperation.Messages, BodyShape.Vertex) { PathModel = model };

        static DoorRequest Refused(int status, string type, string message, string errorType) =>
            new(CallOperation.Messages, BodyShape.Vertex) { Refusal = GatewayPipeline.Reject(status, type, message, errorType) };
    }

    /// <inheritdoc/>
    public override async ValueTask<int> WriteErrorAsync(HttpContext context, GatewayError error)
    {
        context.Response.ContentType = "application/json; charset=UTF-8";
        var bytes = GoogleError(error);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        return bytes.Length;
    }

    /// <summary>Vertex streams are Anthropic SSE: a failure mid-stream is an SSE <c>error</c> event, as Vertex sends it.</summary>
    public override ReadOnlyMemory<byte> StreamError(GatewayError error) => AnthropicErrors.SseEvent(error.Type, error.Message);

    /// <summary>
    /// <c>{"error":{"code":N,"message":"…","status":"RESOURCE_EXHAUSTED"}}</c>, the shape of Google API errors
    /// (google.rpc.Status over HTTP, AIP-193).
    /// </summary>
    public static byte[] GoogleError(GatewayError error)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteNumber("code", error.Status);
            writer.WriteString("message", error.Message);
            writer.WriteString("status", GoogleStatus(error.Status));
            writer.WriteEndObject();
            writer.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The canonical google.rpc.Code name for an HTTP status (google/rpc/code.proto mapping).</summary>
    public static string GoogleStatus(int status) => status switch
    {
        400 or 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ABORTED",
        429 => "RESOURCE_EXHAUSTED",
        499 => "CANCELLED",
        501 => "UNIMPLEMENTED",
        502 or 503 or 529 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION",
    };

    private static string Clip(string value) => value.Length <= 128 ? value : value[..128] + "…";
}
