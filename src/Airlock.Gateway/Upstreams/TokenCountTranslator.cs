using System.Buffers;
using Airlock.Core.Audit;
using Airlock.Gateway.Pipeline;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Protocols.Messages;

namespace Airlock.Gateway.Upstreams;

/// <summary>
/// A token-count answer in one dialect → the other: Bedrock CountTokens' <c>{"inputTokens":N}</c> and Messages'
/// <c>{"input_tokens":N}</c>. The answer is a few bytes, so it is collected (bounded) and rewritten at the end.
/// Used by the Bedrock upstream (Bedrock → Messages) and the Bedrock door (Messages → Bedrock).
/// </summary>
/// <param name="readProperty">The count's name in the answer received.</param>
/// <param name="answer">Writes the count in the dialect sent on.</param>
/// <param name="answeredBy">Who answered, for the error message (e.g. <c>upstream 'b' (Bedrock)</c>).</param>
internal sealed class TokenCountTranslator(string readProperty, Func<long, byte[]> answer, string answeredBy) : ResponseTranslator
{
    private const int MaxAnswerBytes = 64 * 1024;
    private readonly ArrayBufferWriter<byte> _answer = new(256);

    /// <summary>Bedrock's <c>inputTokens</c> → Messages' <c>input_tokens</c>.</summary>
    public static TokenCountTranslator BedrockToMessages(string upstream) =>
        new("inputTokens", BedrockCountTokens.MessagesAnswer, $"upstream '{upstream}' (Bedrock)");

    /// <summary>Messages' <c>input_tokens</c> → Bedrock's <c>inputTokens</c>.</summary>
    public static TokenCountTranslator MessagesToBedrock() => new("input_tokens", BedrockCountTokens.Answer, "the upstream");

    public override bool ProducesSse => false;

    public override bool Translate(ReadOnlySpan<byte> chunk, IBufferWriter<byte> output)
    {
        if (_answer.WrittenCount + chunk.Length > MaxAnswerBytes)
        {
            Failure = Malformed("is larger than " + MaxAnswerBytes / 1024 + " KB");
            return false;
        }
        _answer.Write(chunk);
        return true;
    }

    public override bool Complete(IBufferWriter<byte> output)
    {
        if (!BedrockCountTokens.TryReadTokenCount(_answer.WrittenSpan, readProperty, out var tokens))
        {
            Failure = Malformed("has no " + readProperty + " number");
            return false;
        }
        output.Write(answer(tokens));
        return true;
    }

    private Refusal Malformed(string what) => new(new GatewayError(502, AnthropicErrors.Api,
        answeredBy + " answered count-tokens with a body that " + what), "upstream_bad_answer", AuditOutcome.UpstreamError);
}
