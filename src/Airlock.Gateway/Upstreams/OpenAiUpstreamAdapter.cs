using System.Buffers;
using System.Net.Http.Headers;
using Airlock.Core.Audit;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Messages;
using Airlock.Protocols.OpenAi;
using Microsoft.AspNetCore.Http;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// Any OpenAI chat-completions server (<c>kind: openai</c>): <c>POST {url}/v1/chat/completions</c> with the body
/// translated from Messages (<see cref="MessagesToChatCompletions"/>) and the gateway's credential, if any, as
/// <c>Authorization: Bearer</c>. The answer is translated back: streamed chunks into Messages SSE
/// (<see cref="ChatCompletionStreamToSse"/>), a completion into a Messages message (<see cref="ChatCompletionToMessage"/>),
/// OpenAI error bodies into Anthropic-shaped errors (<see cref="OpenAiErrors"/>). The client's own headers are not
/// forwarded: an OpenAI server knows none of them, and nothing of the client's hop needs to reach it.
/// </summary>
internal sealed class OpenAiUpstreamAdapter(UpstreamClient client) : UpstreamAdapter(client)
{
    /// <summary>The chat-completions path, appended to the upstream URL.</summary>
    public const string ChatCompletionsPath = "/v1/chat/completions";

    /// <summary>A translated non-streamed answer is read whole before it is translated; this bounds it.</summary>
    private const int MaxCompletionBytes = 32 * 1024 * 1024;

    private static readonly HttpRequestOptionsKey<string> ModelOption = new("airlock.openai.model");

    /// <inheritdoc/>
    public override string RequestIdHeader => "x-request-id";

    /// <inheritdoc/>
    public override ValueTask<HttpRequestMessage> CreateRequestAsync(HttpContext context, MessagesCall call, string model, CancellationToken cancellationToken)
    {
        if (call.Operation == CallOperation.CountTokens)
        {
            throw new UpstreamRequestException(GatewayPipeline.Reject(404, AnthropicErrors.NotFound,
                $"upstream '{Config.Name}' (OpenAI chat completions) does not serve count_tokens; route token counting to a Messages upstream", "unsupported_operation"));
        }
        if (Betas.HasRules(Config.Kind))
        {
            // Only refusals matter here: the translation keeps no beta and no beta-only field.
            _ = Betas.Apply(Config, BodyConverter.RequestedBetas(call, context.Request.Headers["anthropic-beta"]));
        }
        byte[] body;
        try
        {
            body = MessagesToChatCompletions.Translate(call.Body, model, call.Stream, Config.MaxOutputTokens);
        }
        catch (OpenAiTranslationException ex)
        {
            throw new UpstreamRequestException(GatewayPipeline.Reject(400, AnthropicErrors.InvalidRequest,
                $"{ex.Field}: {ex.Reason} (upstream '{Config.Name}' speaks OpenAI chat completions)", "untranslatable_request"));
        }
        var request = new HttpRequestMessage(HttpMethod.Post, Client.BuildUri(ChatCompletionsPath, null))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("accept", call.Stream ? "text/event-stream" : "application/json");
        request.Options.Set(ModelOption, model);
        if (Client.Credential is { } credential)
        {
            request.Headers.TryAddWithoutValidation("authorization", "Bearer " + credential);
        }
        return ValueTask.FromResult(request);
    }

    /// <inheritdoc/>
    public override ResponseTranslator? CreateTranslator(HttpResponseMessage response)
    {
        var model = response.RequestMessage is { } request && request.Options.TryGetValue(ModelOption, out var asked) ? asked : Config.Name;
        return response.Content.Headers.ContentType?.MediaType == "text/event-stream"
            ? new StreamTranslator(Config.Name, model)
            : new CompletionTranslator(Config.Name, model);
    }

    /// <summary>Reads an OpenAI, vLLM or Ollama error body; the status is kept.</summary>
    public override GatewayError ReadError(HttpResponseMessage response, ReadOnlySpan<byte> body)
    {
        var status = (int)response.StatusCode;
        var (type, message) = OpenAiErrors.ReadBody(status, body);
        return new GatewayError(status, type, message ?? $"upstream '{Config.Name}' answered with status {status}");
    }

    private static Refusal Broken(string errorType, string message) =>
        new(new GatewayError(502, AnthropicErrors.Api, message), errorType, AuditOutcome.UpstreamError);

    /// <summary>Chat-completions chunks → Messages SSE, as they arrive.</summary>
    private sealed class StreamTranslator(string upstream, string model) : ResponseTranslator
    {
        private readonly ChatCompletionStreamToSse _stream = new(model);

        public override bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output) =>
            _stream.Feed(chunk, output) || Fail();

        public override bool Complete(IBufferWriter<byte> output) =>
            _stream.Complete(output) || Fail();

        private bool Fail()
        {
            var failure = _stream.Failure!;
            Failure = Broken(failure.ErrorType, $"upstream '{upstream}': {failure.Message}");
            return false;
        }

        public override void Dispose()
        {
            _stream.Dispose();
            base.Dispose();
        }
    }

    /// <summary>A chat completion → a Messages message; the completion is collected first (it is one JSON document).</summary>
    private sealed class CompletionTranslator(string upstream, string model) : ResponseTranslator
    {
        private readonly ArrayBufferWriter<byte> _body = new(16 * 1024);

        public override bool ProducesSse => false;

        public override bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
        {
            if (_body.WrittenCount + chunk.Length > MaxCompletionBytes)
            {
                Failure = Broken("upstream_response_too_large", $"upstream '{upstream}' answered with more than {MaxCompletionBytes} bytes");
                return false;
            }
            _body.Write(chunk);
            return true;
        }

        public override bool Complete(IBufferWriter<byte> output)
        {
            try
            {
                output.Write(ChatCompletionToMessage.Translate(_body.WrittenMemory, model));
                return true;
            }
            catch (OpenAiTranslationException ex)
            {
                Failure = Broken(ex.Field.Contains("arguments", StringComparison.Ordinal) ? "upstream_invalid_tool_arguments" : "upstream_invalid_response",
                    $"upstream '{upstream}': {ex.Field}: {ex.Reason}");
                return false;
            }
        }
    }
}
