using System.Text;
using System.Text.Json;
using Airlock.Protocols.OpenAi;

namespace Airlock.Tests.OpenAi;

/// <summary>Chat completion → Messages message.</summary>
public sealed class ChatCompletionToMessageTests
{
    private static JsonElement Translate(string completion)
    {
        using var document = JsonDocument.Parse(ChatCompletionToMessage.Translate(Encoding.UTF8.GetBytes(completion), "asked-model"));
        return document.RootElement.Clone();
    }

    [Fact]
    public void Text_answer_becomes_a_text_block_with_stop_reason_and_usage()
    {
        var message = Translate("""
            {"id":"chatcmpl-abc123","object":"chat.completion","created":1,"model":"qwen3-coder",
             "choices":[{"index":0,"message":{"role":"assistant","content":"Hello there."},"finish_reason":"stop"}],
             "usage":{"prompt_tokens":120,"completion_tokens":7,"total_tokens":127,"prompt_tokens_details":{"cached_tokens":100}}}
            """);
        Assert.Equal("msg_chatcmpl-abc123", message.GetProperty("id").GetString());
        Assert.Equal("message", message.GetProperty("type").GetString());
        Assert.Equal("assistant", message.GetProperty("role").GetString());
        Assert.Equal("qwen3-coder", message.GetProperty("model").GetString());
        Assert.Equal("""[{"type":"text","text":"Hello there."}]""", message.GetProperty("content").GetRawText());
        Assert.Equal("end_turn", message.GetProperty("stop_reason").GetString());
        Assert.Equal(JsonValueKind.Null, message.GetProperty("stop_sequence").ValueKind);
        // prompt_tokens includes the cached ones; Anthropic's input_tokens does not.
        Assert.Equal("""{"input_tokens":20,"output_tokens":7,"cache_read_input_tokens":100}""", message.GetProperty("usage").GetRawText());
    }

    [Fact]
    public void Tool_calls_become_tool_use_blocks_with_ids_kept_or_generated()
    {
        var message = Translate("""
            {"id":"x","model":"m","choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Let me look.",
              "tool_calls":[
                {"id":"call_Abc-123","type":"function","function":{"name":"Read","arguments":"{\"file_path\":\"/tmp/a.txt\"}"}},
                {"type":"function","function":{"name":"Bash","arguments":""}},
                {"id":"call with spaces","type":"function","function":{"name":"Glob","arguments":{"pattern":"*.cs"}}}]}}],
             "usage":{"prompt_tokens":10,"completion_tokens":5}}
            """);
        var content = message.GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(["text", "tool_use", "tool_use", "tool_use"], content.Select(b => b.GetProperty("type").GetString()));
        Assert.Equal("call_Abc-123", content[1].GetProperty("id").GetString());
        Assert.Equal("""{"file_path":"/tmp/a.txt"}""", content[1].GetProperty("input").GetRawText());
        Assert.StartsWith("toolu_", content[2].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("{}", content[2].GetProperty("input").GetRawText());
        Assert.StartsWith("toolu_", content[3].GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("""{"pattern":"*.cs"}""", content[3].GetProperty("input").GetRawText());
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
        Assert.Equal("""{"input_tokens":10,"output_tokens":5}""", message.GetProperty("usage").GetRawText());
    }

    [Theory]
    [InlineData("stop", "end_turn")]
    [InlineData("length", "max_tokens")]
    [InlineData("tool_calls", "tool_use")]
    [InlineData("function_call", "tool_use")]
    [InlineData("content_filter", "refusal")]
    [InlineData("something_new", "end_turn")]
    public void Finish_reasons_map_to_stop_reasons(string finish, string stop)
    {
        var message = Translate($$"""{"choices":[{"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"{{finish}}"}]}""");
        Assert.Equal(stop, message.GetProperty("stop_reason").GetString());
        Assert.Equal("asked-model", message.GetProperty("model").GetString());
        Assert.StartsWith("msg_", message.GetProperty("id").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_server_that_calls_tools_but_says_stop_is_reported_as_tool_use()
    {
        var message = Translate("""
            {"choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"Read","arguments":"{}"}}]}}]}
            """);
        Assert.Equal("tool_use", message.GetProperty("stop_reason").GetString());
    }

    [Theory]
    [InlineData("reasoning_content")]
    [InlineData("reasoning")]
    public void Reasoning_becomes_a_thinking_block_before_the_text(string field)
    {
        var message = Translate($$"""{"choices":[{"index":0,"message":{"role":"assistant","{{field}}":"First, think.","content":"Answer."},"finish_reason":"stop"}]}""");
        Assert.Equal("""[{"type":"thinking","thinking":"First, think.","signature":""},{"type":"text","text":"Answer."}]""", message.GetProperty("content").GetRawText());
    }

    [Theory]
    [InlineData("\"{\\\"file_path\\\": \"")]
    [InlineData("\"[1,2]\"")]
    [InlineData("\"{} {}\"")]
    [InlineData("42")]
    public void Arguments_that_are_not_one_json_object_are_an_error_naming_the_tool(string arguments)
    {
        var ex = Assert.Throws<OpenAiTranslationException>(() => ChatCompletionToMessage.Translate(Encoding.UTF8.GetBytes(
            """{"choices":[{"index":0,"finish_reason":"tool_calls","message":{"role":"assistant","tool_calls":[{"id":"c","type":"function","function":{"name":"Read","arguments":"""
            + arguments + "}}]}}]}"), "m"));
        Assert.Equal("response.choices[0].message.tool_calls[0].function.arguments", ex.Field);
        Assert.Contains("'Read'", ex.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("""{"object":"chat.completion","choices":[]}""")]
    [InlineData("""{"choices":[{"index":0}]}""")]
    [InlineData("""{"choices":[{"index":0,"message":{"tool_calls":[{"id":"c","function":{"arguments":"{}"}}]}}]}""")]
    public void What_is_not_a_chat_completion_is_an_error(string body)
    {
        Assert.Throws<OpenAiTranslationException>(() => ChatCompletionToMessage.Translate(Encoding.UTF8.GetBytes(body), "m"));
    }
}
