using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Airlock.Gateway.Doors;

/// <summary>
/// The Anthropic Messages front door: <c>POST /v1/messages</c>, <c>POST /v1/messages/count_tokens</c>,
/// <c>GET /v1/models</c>. Model and <c>stream</c> come from the body; errors are Anthropic JSON before the answer
/// starts and an SSE <c>error</c> event after. In front of a Messages upstream the answer is relayed verbatim.
/// </summary>
internal sealed class MessagesDoor(GatewayPipeline pipeline) : FrontDoor
{
    /// <inheritdoc/>
    public override string Name => "messages";

    /// <inheritdoc/>
    public override bool RelaysMessagesVerbatim => true;

    /// <summary>Maps the door's endpoints.</summary>
    public void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost("/v1/messages", context => Post(context, CallOperation.Messages, "messages"));
        endpoints.MapPost("/v1/messages/count_tokens", context => Post(context, CallOperation.CountTokens, "count_tokens"));
        endpoints.MapGet("/v1/models", ModelsAsync);
    }

    private Task Post(HttpContext context, CallOperation operation, string name) =>
        pipeline.HandleCallAsync(context, this, name, new DoorRequest(operation, BodyShape.Messages)
        {
            MessagesPathAndQuery = context.Request.Path.Value + context.Request.QueryString.Value,
        });

    private Task ModelsAsync(HttpContext context) =>
        pipeline.RunAsync(context, this, "models", async exchange =>
        {
            if (pipeline.Router.CatchAll() is { } upstream && pipeline.Upstreams.Adapter(upstream.Name) is { SpeaksMessages: true } adapter)
            {
                // A catch-all route serves any model name: the upstream's own list is the truth.
                await pipeline.RelayGetAsync(context, exchange, this, adapter).ConfigureAwait(false);
                return;
            }
            exchange.Status = 200;
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(ModelList.Build(pipeline.Router.LiteralModels().Select(m => m.Model)), context.RequestAborted).ConfigureAwait(false);
        });

    /// <inheritdoc/>
    public override async ValueTask<int> WriteErrorAsync(HttpContext context, GatewayError error)
    {
        context.Response.ContentType = "application/json";
        var bytes = AnthropicErrors.Body(error.Type, error.Message);
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        return bytes.Length;
    }

    /// <inheritdoc/>
    public override ReadOnlyMemory<byte> StreamError(GatewayError error) => AnthropicErrors.SseEvent(error.Type, error.Message);
}
