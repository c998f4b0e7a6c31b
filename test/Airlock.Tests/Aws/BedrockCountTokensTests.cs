using System.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.Bedrock;

namespace Airlock.Tests.Aws;

public sealed class BedrockCountTokensTests
{
    [Fact]
    public void The_invoke_body_travels_base64_encoded_and_comes_back_unchanged()
    {
        var invoke = Encoding.UTF8.GetBytes("{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":1,\"messages\":[{\"role\":\"user\",\"content\":\"é\"}]}");
        var wrapped = BedrockCountTokens.WrapInvokeBody(invoke);
        using var document = JsonDocument.Parse(wrapped);
        Assert.Equal(Convert.ToBase64String(invoke), document.RootElement.GetProperty("input").GetProperty("invokeModel").GetProperty("body").GetString());
        Assert.True(BedrockCountTokens.TryUnwrapInvokeBody(wrapped, out var back, out var error), error);
        Assert.Equal(invoke, back);
    }

    [Theory]
    [InlineData("{}", "input")]
    [InlineData("{\"input\":{\"converse\":{}}}", "invokeModel")]
    [InlineData("{\"input\":{\"invokeModel\":{\"body\":\"***\"}}}", "base64")]
    [InlineData("not json", "JSON")]
    public void Malformed_requests_are_named(string request, string expected)
    {
        Assert.False(BedrockCountTokens.TryUnwrapInvokeBody(Encoding.UTF8.GetBytes(request), out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Answers_translate_between_bedrock_and_messages_names()
    {
        Assert.True(BedrockCountTokens.TryReadInputTokens(BedrockCountTokens.Answer(1234), out var tokens));
        Assert.Equal(1234, tokens);
        Assert.Equal("{\"input_tokens\":1234}", Encoding.UTF8.GetString(BedrockCountTokens.MessagesAnswer(tokens)));
        Assert.False(BedrockCountTokens.TryReadInputTokens("{\"inputTokens\":-1}"u8, out _));
        Assert.False(BedrockCountTokens.TryReadInputTokens("{\"tokens\":3}"u8, out _));
        Assert.False(BedrockCountTokens.TryReadInputTokens("[1]"u8, out _));
    }

    [Theory]
    [InlineData("us.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [InlineData("global.anthropic.claude-opus-4-1-20250805-v1:0", "anthropic.claude-opus-4-1-20250805-v1:0")]
    [InlineData("us-gov.anthropic.claude-3-haiku-20240307-v1:0", "anthropic.claude-3-haiku-20240307-v1:0")]
    [InlineData("anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-sonnet-4-5-20250929-v1:0")]
    [InlineData("arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc", null)]
    public void Profile_ids_map_to_their_foundation_model(string modelId, string? expected)
    {
        Assert.Equal(expected, BedrockModelId.FoundationModelId(modelId));
    }

    [Fact]
    public void The_count_tokens_path_parses_and_builds()
    {
        Assert.True(BedrockModelId.TryParseInvokePath("/model/anthropic.claude-x-v1%3A0/count-tokens", out var id, out var operation, out _));
        Assert.Equal("anthropic.claude-x-v1:0", id);
        Assert.Equal(BedrockOperation.CountTokens, operation);
        Assert.EndsWith("/model/anthropic.claude-x-v1%3A0/count-tokens", new BedrockEndpoint("us-east-1").InvokeUri(id, operation).AbsoluteUri, StringComparison.Ordinal);
    }
}
