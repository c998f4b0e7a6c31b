using System.Buffers;
using System.Net.Http.Headers;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Aws.EventStream;
using Airlock.Protocols.Aws.Signing;
using Airlock.Protocols.Json;
using Airlock.Protocols.Messages;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Amazon Bedrock Runtime: <c>POST {endpoint}/model/{modelId}/invoke</c> or <c>/invoke-with-response-stream</c>, body
/// in the Bedrock shape (spliced: no <c>model</c>/<c>stream</c>, <c>anthropic_version</c>, betas in <c>anthropic_beta</c>),
/// signed with SigV4 for service <c>bedrock</c> (credentials from the gateway's environment or the AWS SDK chain) or
/// sent with a Bedrock API key. The event-stream answer is translated into Messages SSE; AWS errors into gateway errors.
/// The client's own headers are not forwarded: nothing of the client's hop reaches AWS but the body.
/// </summary>
internal sealed class BedrockUpstreamAdapter : UpstreamAdapter
{
    private readonly BedrockEndpoint _endpoint;
    private readonly IBedrockAuthorizer _authorizer;

    public BedrockUpstreamAdapter(UpstreamClient client, Func<string, string?> getEnvironment, TimeProvider time, AirlockConfig? deployment = null, IHostResolver? resolver = null) : base(client)
    {
        _endpoint = new BedrockEndpoint(Config.Region!, Config.Url);
        _authorizer = client.Credential is { } apiKey
            ? new BearerTokenBedrockAuthorizer(apiKey)
            : new SigV4BedrockAuthorizer(deployment is { Level: >= 2 }
                ? new GuardedAwsCredentialProvider(deployment, Config, AwsCredentialSource.For(Config, getEnvironment), resolver ?? DnsHostResolver.Instance, time)
                : CredentialsFrom(getEnvironment), Config.Region!, time);
    }

    /// <inheritdoc/>
    public override string RequestIdHeader => "x-amzn-RequestId";

    /// <summary>
    /// Levels 0 and 1 (level 2 fetches through <see cref="GuardedAwsCredentialProvider"/>; level 3 builds no AWS code).
    /// Static keys from the gateway's environment (<c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>,
    /// <c>AWS_SESSION_TOKEN</c>: the chain's first step, read through the gateway's environment reader), else the AWS SDK
    /// default chain (profiles, web identity, container and instance metadata).
    /// </summary>
    private static IAwsCredentialProvider CredentialsFrom(Func<string, string?> getEnvironment)
    {
        var accessKey = getEnvironment("AWS_ACCESS_KEY_ID");
        var secretKey = getEnvironment("AWS_SECRET_ACCESS_KEY");
        if (!string.IsNullOrEmpty(accessKey) && !string.IsNullOrEmpty(secretKey))
        {
            return new StaticAwsCredentialProvider(new AwsCredentials(accessKey, secretKey, getEnvironment("AWS_SESSION_TOKEN")));
        }
        return new AwsSdkCredentialProvider(getEnvironment("AWS_PROFILE"));
    }

    /// <inheritdoc/>
    public override async ValueTask<HttpRequestMessage> CreateRequestAsync(HttpContext context, MessagesCall call, string model, CancellationToken cancellationToken)
    {
        if (BedrockModelId.Validate(model) is { } problem)
        {
            throw new UpstreamRequestException(GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                $"model for upstream '{Config.Name}' is not a Bedrock model id: {problem}", "invalid_model"));
        }
        if (Core.Egress.RegionRule.CheckBedrockModel(model, Client.AllowedRegions) is { } outside)
        {
            // Data residency: another region's ARN or a cross-region inference profile would process the request elsewhere.
            throw new UpstreamRequestException(GatewayPipeline.Reject(403, AnthropicErrors.Permission,
                $"upstream '{Config.Name}' refused the request: {outside}", "region_refused"));
        }
        var (betas, removeFields) = Betas.Apply(Config, BodyConverter.RequestedBetas(call, context.Request.Headers["anthropic-beta"]));
        ReadOnlyMemory<byte> body = BodyConverter.ToBedrock(call, betas, removeFields, context.Response);
        Uri uri;
        if (call.Operation == CallOperation.CountTokens)
        {
            // CountTokens takes foundation-model ids only (it refuses cross-Region profile ids) and validates the
            // wrapped body as an InvokeModel body, which requires max_tokens; a count_tokens body has none.
            var foundation = BedrockModelId.FoundationModelId(model) ?? throw new UpstreamRequestException(GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                $"upstream '{Config.Name}' (Bedrock) counts tokens for foundation-model and inference-profile ids only, not for an ARN; map the model to an id", "unsupported_operation"));
            if (!TopLevelSplicer.Has(body.Span, "max_tokens"))
            {
                body = TopLevelSplicer.Edit(body.Span, [], [new("max_tokens", "1"u8.ToArray())]);
            }
            body = BedrockCountTokens.WrapInvokeBody(body.Span);
            uri = _endpoint.InvokeUri(foundation, BedrockOperation.CountTokens);
        }
        else
        {
            uri = _endpoint.InvokeUri(model, call.Stream ? BedrockOperation.InvokeWithResponseStream : BedrockOperation.Invoke);
        }
        var request = new HttpRequestMessage(HttpMethod.Post, uri) { Content = new ReadOnlyMemoryContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation(call.Stream && call.Operation != CallOperation.CountTokens ? "X-Amzn-Bedrock-Accept" : "Accept", "application/json");
        try
        {
            await _authorizer.AuthorizeAsync(request, body, cancellationToken).ConfigureAwait(false);
        }
        catch (AwsCredentialsUnavailableException ex)
        {
            request.Dispose();
            throw new UpstreamCredentialException("no AWS credentials (" + ex.Message + ")", ex);
        }
        return request;
    }

    /// <inheritdoc/>
    public override ResponseTranslator? CreateTranslator(HttpResponseMessage response) =>
        response.RequestMessage?.RequestUri?.AbsolutePath.EndsWith("/count-tokens", StringComparison.Ordinal) == true
            ? TokenCountTranslator.BedrockToMessages(Config.Name)
            : response.Content.Headers.ContentType?.MediaType == BedrockFrames.ContentType ? new EventStreamTranslator(Config.Name) : null;

    /// <inheritdoc/>
    public override ValueTask<Refusal?> ProbeAnswerStartAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        EventStreamStartProbe.ProbeAsync(response, Config.Name, cancellationToken);

    /// <summary>
    /// Reads <c>{"message":…}</c> with <c>x-amzn-ErrorType</c> into a gateway error. A refused signature, key or session
    /// token is the gateway's own credential, not the client's: the message says so, so that a client is not sent to
    /// renew credentials it does not hold (AWS's own text, e.g. "security token … is expired", names no owner).
    /// </summary>
    public override GatewayError ReadError(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var status = (int)response.StatusCode;
        var errorType = response.Headers.TryGetValues("x-amzn-ErrorType", out var values) ? values.FirstOrDefault() : null;
        var message = BedrockErrors.ReadMessage(body) ?? $"upstream '{Config.Name}' (Bedrock) answered with status {status}";
        var name = errorType?.Split(':')[0];
        if (status is 401 or 403 && name is "UnrecognizedClientException" or "InvalidSignatureException" or "IncompleteSignatureException"
            or "ExpiredTokenException" or "MissingAuthenticationTokenException")
        {
            var credential = _authorizer is BearerTokenBedrockAuthorizer ? "Bedrock API key" : "AWS credentials";
            message = $"Bedrock refused the gateway's {credential} for upstream '{Config.Name}' ({name}): {message}";
        }
        return new GatewayError(status, BedrockErrors.AnthropicTypeForHttpError(status, errorType), message);
    }

    /// <summary>Bedrock event-stream frames → Messages SSE; a corrupt frame ends the stream with a precise failure.</summary>
    private sealed class EventStreamTranslator(string upstream) : ResponseTranslator
    {
        private readonly BedrockFramesToSse _frames = new();

        public override bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
        {
            try
            {
                _frames.Feed(chunk, output);
                return true;
            }
            catch (EventStreamFormatException ex)
            {
                Failure = Corrupt(ex);
                return false;
            }
        }

        public override bool Complete(IBufferWriter<byte> output)
        {
            try
            {
                _frames.Complete();
                return true;
            }
            catch (EventStreamFormatException ex)
            {
                Failure = Corrupt(ex);
                return false;
            }
        }

        private Refusal Corrupt(EventStreamFormatException ex) => new(new GatewayError(502, AnthropicErrors.Api,
            $"upstream '{upstream}' sent a corrupt event-stream frame ({ex.Error} at frame {ex.FrameIndex}, byte {ex.StreamOffset}); the answer is incomplete"),
            "upstream_stream_corrupt", Core.Audit.AuditOutcome.UpstreamError);

        public override void Dispose()
        {
            _frames.Dispose();
            base.Dispose();
        }
    }
}
