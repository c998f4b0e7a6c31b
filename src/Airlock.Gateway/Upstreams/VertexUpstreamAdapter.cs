using System.Net.Http.Headers;
using System.Text.Json;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Google Vertex AI: <c>POST {host}/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:rawPredict</c>
/// (<c>:streamRawPredict</c> when streaming, <c>models/count-tokens:rawPredict</c> for token counts), body in the
/// Vertex shape (no <c>model</c>, <c>anthropic_version: vertex-2023-10-16</c>), betas in the header, and an OAuth
/// bearer token. The answer is Anthropic SSE/JSON already; Google-shaped errors are read into gateway errors.
/// </summary>
internal sealed class VertexUpstreamAdapter : UpstreamAdapter
{
    private readonly GoogleAccessTokens _tokens;
    private readonly string _base;

    public VertexUpstreamAdapter(UpstreamClient client, GoogleAccessTokens tokens) : base(client)
    {
        _tokens = tokens;
        var region = Config.Region!;
        var host = Config.Url?.GetLeftPart(UriPartial.Path).TrimEnd('/') ?? DefaultHost(region);
        _base = $"{host}/v1/projects/{Uri.EscapeDataString(Config.Project!)}/locations/{Uri.EscapeDataString(region)}/publishers/anthropic/models/";
    }

    /// <summary>
    /// The Vertex endpoint for a location: <c>global</c> → <c>aiplatform.googleapis.com</c>; the multi-regions
    /// <c>us</c>/<c>eu</c> → <c>aiplatform.{us|eu}.rep.googleapis.com</c>; a region → <c>{region}-aiplatform.googleapis.com</c>
    /// (Anthropic vertex-sdk <c>client.ts</c>; Google Cloud "Use Claude" docs).
    /// </summary>
    public static string DefaultHost(string region) => region switch
    {
        "global" => "https://aiplatform.googleapis.com",
        "us" or "eu" => $"https://aiplatform.{region}.rep.googleapis.com",
        _ => $"https://{region}-aiplatform.googleapis.com",
    };

    /// <summary>
    /// Vertex answered 401 to a token Google.Apis.Auth still holds valid (revoked, or its key disabled): the cached
    /// credential is dropped and the call is sent once more with a new token, as Google's own client libraries do.
    /// </summary>
    public override bool RenewCredential()
    {
        _tokens.Invalidate();
        return true;
    }

    /// <summary>The URL of a call, for tests and diagnostics.</summary>
    public Uri BuildUri(MessagesCall call, string model)
    {
        if (call.Operation == CallOperation.CountTokens)
        {
            return new Uri(_base + "count-tokens:rawPredict");
        }
        if (!VertexModelName.IsValid(model))
        {
            throw new UpstreamRequestException(GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                $"model '{model}' is not a valid Vertex model name", "invalid_model"));
        }
        return new Uri(_base + model + (call.Stream ? ":streamRawPredict" : ":rawPredict"));
    }

    /// <inheritdoc/>
    public override async ValueTask<HttpRequestMessage> CreateRequestAsync(HttpContext context, MessagesCall call, string model, CancellationToken cancellationToken)
    {
        var uri = BuildUri(call, model);
        var token = await _tokens.GetAsync(cancellationToken).ConfigureAwait(false);
        var (betas, removeFields) = Betas.Apply(Config, BodyConverter.RequestedBetas(call, context.Request.Headers["anthropic-beta"]));
        var request = new HttpRequestMessage(HttpMethod.Post, uri)
        {
            Content = new ReadOnlyMemoryContent(BodyConverter.ToVertex(call, model, removeFields, context.Response)),
        };
        HeaderPolicy.CopyRequestHeaders(context.Request.Headers, request, dropCloudHeaders: true);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Remove("anthropic-beta");
        if (betas.Count > 0)
        {
            request.Headers.TryAddWithoutValidation("anthropic-beta", string.Join(',', betas));
        }
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return request;
    }

    /// <summary>
    /// Reads <c>{"error":{"code":…,"message":…,"status":…}}</c> (Google) or an Anthropic error body. A Google 401 here
    /// means a new token was refused too (<see cref="RenewCredential"/> came first): the error says it is the gateway's
    /// token, and the credential is dropped again so that the next call starts afresh.
    /// </summary>
    public override GatewayError ReadError(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var status = (int)response.StatusCode;
        try
        {
            var reader = new Utf8JsonReader(body);
            string? googleStatus = null;
            string? message = null;
            var google = false;
            while (reader.Read())
            {
                if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != 2)
                {
                    continue;
                }
                if (reader.ValueTextEquals("status"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    googleStatus = reader.GetString();
                    google = true;
                }
                else if (reader.ValueTextEquals("code"u8))
                {
                    google = true;
                    reader.Skip();
                }
                else if (reader.ValueTextEquals("message"u8) && reader.Read() && reader.TokenType == JsonTokenType.String)
                {
                    message = reader.GetString();
                }
            }
            if (google && status == 401)
            {
                // Vertex refused the gateway's own token, not the client's credential: say so, and do not send that token again.
                _tokens.Invalidate();
                return new GatewayError(status, AnthropicErrors.TypeForStatus(status),
                    $"Vertex AI refused the gateway's access token for upstream '{Config.Name}' ({googleStatus ?? "UNAUTHENTICATED"}): {message ?? "no message"}");
            }
            if (google)
            {
                return new GatewayError(status, AnthropicErrors.TypeForStatus(status),
                    $"Vertex AI ({googleStatus ?? status.ToString(System.Globalization.CultureInfo.InvariantCulture)}): {message ?? "no message"}");
            }
        }
        catch (JsonException)
        {
            // Not JSON: described by its status.
        }
        return base.ReadError(response, body);
    }
}

/// <summary>What a Vertex model name may contain (<c>claude-sonnet-4-5@20250929</c>): nothing that changes the URL path.</summary>
internal static class VertexModelName
{
    public static bool IsValid(string model) =>
        model.Length is > 0 and <= 256 && model[0] != '.' && !model.Contains("..", StringComparison.Ordinal)
        && model.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '@');
}
