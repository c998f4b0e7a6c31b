using System.Net.Http.Headers;
using Airlock.Gateway.Pipeline;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// The Anthropic API and Messages-compatible servers (vLLM, Ollama, llama.cpp) and the simulated model. From the
/// Messages door this is a verbatim relay: same path and query, same headers (minus hop-by-hop and the client's
/// key), same body bytes. From other doors the body is spliced into the Messages shape.
/// </summary>
internal sealed class MessagesUpstreamAdapter(UpstreamClient client) : UpstreamAdapter(client)
{
    private const string DefaultVersion = "2023-06-01";

    /// <inheritdoc/>
    public override bool SpeaksMessages => true;

    /// <inheritdoc/>
    public override ValueTask<HttpRequestMessage> CreateRequestAsync(HttpContext context, MessagesCall call, string model, CancellationToken cancellationToken)
    {
        var path = call.MessagesPathAndQuery ?? (call.Operation == CallOperation.CountTokens ? "/v1/messages/count_tokens" : "/v1/messages");
        var request = new HttpRequestMessage(HttpMethod.Post, Client.BuildUri(path, null));
        // Fast path: a Messages body to a kind without beta rules keeps its header and bytes untouched.
        List<string>? betas = null;
        IReadOnlyCollection<string> removeFields = [];
        if (call.Shape != BodyShape.Messages || Betas.HasRules(Config.Kind))
        {
            (betas, removeFields) = Betas.Apply(Config, BodyConverter.RequestedBetas(call, context.Request.Headers["anthropic-beta"]));
        }
        request.Content = new ReadOnlyMemoryContent(BodyConverter.ToMessages(call, model, removeFields, context.Response));
        HeaderPolicy.CopyRequestHeaders(context.Request.Headers, request, dropCloudHeaders: call.Shape != BodyShape.Messages);
        if (request.Content.Headers.ContentType is null)
        {
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }
        if (betas is not null)
        {
            // Bedrock bodies carry the betas (and rules may have dropped some); a Messages server reads them from the header.
            request.Headers.Remove("anthropic-beta");
            if (betas.Count > 0)
            {
                request.Headers.TryAddWithoutValidation("anthropic-beta", string.Join(',', betas));
            }
        }
        if (!request.Headers.Contains("anthropic-version"))
        {
            request.Headers.TryAddWithoutValidation("anthropic-version", DefaultVersion);
        }
        Client.ApplyCredential(request);
        return ValueTask.FromResult(request);
    }
}
