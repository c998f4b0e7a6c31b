using System.Text;
using System.Text.Json;
using Airlock.Protocols.Aws.Bedrock;

namespace Airlock.Tests.Aws;

public class BedrockRequestBodyTests
{
    private static string FromMessages(string body, params string[] betas)
    {
        Assert.True(BedrockRequestBody.TryFromMessages(Encoding.UTF8.GetBytes(body), betas, out var result, out var error), error);
        var text = Encoding.UTF8.GetString(result);
        using var _ = JsonDocument.Parse(result); // always valid JSON
        return text;
    }

    private static BedrockToMessagesResult ToMessages(string body, string model, bool stream)
    {
        Assert.True(BedrockRequestBody.TryToMessages(Encoding.UTF8.GetBytes(body), model, stream, out var result, out var error), error);
        using var _ = JsonDocument.Parse(result!.Body);
        return result;
    }

    [Fact]
    public void Messages_to_bedrock_removes_model_and_stream_and_adds_version_keeping_every_other_byte()
    {
        const string body = "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi \\u00e9\"}],"
            + "\"context_management\":{\"edits\":[]},\"x_future_field\":[1,2.50,{\"k\":null}]}";
        Assert.Equal("{\"max_tokens\":1024,\"messages\":[{\"role\":\"user\",\"content\":\"hi \\u00e9\"}],"
            + "\"context_management\":{\"edits\":[]},\"x_future_field\":[1,2.50,{\"k\":null}],\"anthropic_version\":\"bedrock-2023-05-31\"}",
            FromMessages(body));
    }

    [Fact]
    public void Betas_from_the_header_become_an_anthropic_beta_array()
    {
        Assert.Equal("{\"max_tokens\":1,\"anthropic_version\":\"bedrock-2023-05-31\",\"anthropic_beta\":[\"interleaved-thinking-2025-05-14\",\"context-1m-2025-08-07\"]}",
            FromMessages("{\"model\":\"m\",\"max_tokens\":1}", "interleaved-thinking-2025-05-14", "context-1m-2025-08-07"));
    }

    [Fact]
    public void Existing_version_and_beta_array_are_kept_and_new_betas_merged_in_place()
    {
        Assert.Equal("{ \"anthropic_version\" : \"bedrock-2023-05-31\", \"anthropic_beta\" : [\"a\",\"b\"], \"max_tokens\": 1 }",
            FromMessages("{ \"anthropic_version\" : \"bedrock-2023-05-31\", \"anthropic_beta\" : [\"a\"], \"max_tokens\": 1 }", "a", "b"));
        // Nothing new to merge: the array keeps its original bytes.
        Assert.Equal("{\"anthropic_beta\":[ \"a\" ],\"max_tokens\":1,\"anthropic_version\":\"bedrock-2023-05-31\"}",
            FromMessages("{\"anthropic_beta\":[ \"a\" ],\"max_tokens\":1}", "a"));
    }

    [Fact]
    public void Whitespace_and_member_order_survive_removal_at_start_middle_and_end()
    {
        Assert.Equal("{\n  \"a\": 1,\n  \"b\": 2,\"anthropic_version\":\"bedrock-2023-05-31\"\n}",
            FromMessages("{\n  \"model\": \"m\",\n  \"a\": 1,\n  \"stream\": false,\n  \"b\": 2\n}"));
        Assert.Equal("{\"a\":1,\"anthropic_version\":\"bedrock-2023-05-31\"}", FromMessages("{\"a\":1,\"model\":\"m\",\"stream\":true}"));
        Assert.Equal("{\"anthropic_version\":\"bedrock-2023-05-31\"}", FromMessages("{\"model\":\"m\",\"stream\":true}"));
        Assert.Equal("{\"anthropic_version\":\"bedrock-2023-05-31\"}", FromMessages("{}"));
    }

    [Fact]
    public void Nested_model_and_stream_members_are_not_touched()
    {
        const string body = "{\"model\":\"m\",\"metadata\":{\"model\":\"x\",\"stream\":true},\"tools\":[{\"name\":\"stream\"}]}";
        Assert.Equal("{\"metadata\":{\"model\":\"x\",\"stream\":true},\"tools\":[{\"name\":\"stream\"}],\"anthropic_version\":\"bedrock-2023-05-31\"}",
            FromMessages(body));
    }

    [Fact]
    public void Thinking_blocks_pass_byte_for_byte()
    {
        const string thinking = "{\"type\":\"thinking\",\"thinking\":\"x\\n\\\"y\\\"\",\"signature\":\"EqQBCkYIARgCKkB/+==\"}";
        var converted = FromMessages("{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"content\":[" + thinking + "]}]}");
        Assert.Contains(thinking, converted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[]", "request body must be a JSON object")]
    [InlineData("{\"a\":", "not valid JSON")]
    [InlineData("{\"model\":\"a\",\"model\":\"b\"}", "model: appears more than once")]
    [InlineData("{\"anthropic_beta\":\"x\"}", "anthropic_beta: must be an array of strings")]
    [InlineData("{\"anthropic_beta\":[1]}", "anthropic_beta: must be an array of strings")]
    [InlineData("{} {}", "not valid JSON")]
    [InlineData("{\"\\u006dodel\":\"m\"}", "model: member names must not use JSON escapes")]
    public void Bad_bodies_get_a_precise_error(string body, string expected)
    {
        Assert.False(BedrockRequestBody.TryFromMessages(Encoding.UTF8.GetBytes(body), [], out _, out var error));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Bedrock_to_messages_moves_betas_out_and_model_and_stream_in()
    {
        const string body = "{\"anthropic_version\":\"bedrock-2023-05-31\",\"anthropic_beta\":[\"interleaved-thinking-2025-05-14\",\"tool-search-tool-2025-10-19\"],"
            + "\"max_tokens\":32000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"unknown_new_field\":{\"z\":[true]}}";
        var result = ToMessages(body, "claude-sonnet-4-5", stream: true);
        Assert.Equal("{\"model\":\"claude-sonnet-4-5\",\"stream\":true,\"max_tokens\":32000,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
            + "\"unknown_new_field\":{\"z\":[true]}}", Encoding.UTF8.GetString(result.Body));
        Assert.Equal(["interleaved-thinking-2025-05-14", "tool-search-tool-2025-10-19"], result.Betas);
        Assert.Equal("bedrock-2023-05-31", result.AnthropicVersion);
    }

    [Fact]
    public void Bedrock_to_messages_without_stream_and_with_a_model_needing_escapes()
    {
        var result = ToMessages("{\"max_tokens\":5}", "arn:aws:bedrock:us-east-1:1:application-inference-profile/a\"b", stream: false);
        Assert.Equal("{\"model\":\"arn:aws:bedrock:us-east-1:1:application-inference-profile/a\\\"b\",\"max_tokens\":5}", Encoding.UTF8.GetString(result.Body));
        Assert.Empty(result.Betas);
        Assert.Null(result.AnthropicVersion);
        Assert.Equal("{\"model\":\"m\"}", Encoding.UTF8.GetString(ToMessages("{\"anthropic_version\":\"v\"}", "m", false).Body));
    }

    [Fact]
    public void Round_trip_messages_to_bedrock_to_messages_keeps_the_body()
    {
        const string original = "{\"model\":\"m\",\"stream\":true,\"max_tokens\":9,\"system\":[{\"type\":\"text\",\"text\":\"s\"}],\"zz\":0}";
        var bedrock = FromMessages(original, "b1");
        var back = ToMessages(bedrock, "m", stream: true);
        Assert.Equal(original, Encoding.UTF8.GetString(back.Body));
        Assert.Equal(["b1"], back.Betas);
    }

    [Fact]
    public void Beta_header_split_trims_and_deduplicates()
    {
        Assert.Equal(["a", "b", "c"], BedrockRequestBody.SplitBetaHeader(["a, b", null, " c ,a,,"]));
    }
}
