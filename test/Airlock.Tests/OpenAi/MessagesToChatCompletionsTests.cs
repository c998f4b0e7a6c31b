using System.Text;
using System.Text.Json;
using Airlock.Protocols.OpenAi;

namespace Airlock.Tests.OpenAi;

/// <summary>Messages request → chat-completions request: the recorded Claude Code requests and one case per mapping.</summary>
public sealed class MessagesToChatCompletionsTests
{
    private static JsonElement Translate(string body, string model = "qwen3-coder", bool stream = false)
    {
        var bytes = MessagesToChatCompletions.Translate(Encoding.UTF8.GetBytes(body), model, stream);
        using var document = JsonDocument.Parse(bytes);
        return document.RootElement.Clone();
    }

    private static OpenAiTranslationException Refused(string body) =>
        Assert.Throws<OpenAiTranslationException>(() => MessagesToChatCompletions.Translate(Encoding.UTF8.GetBytes(body), "m", false));

    internal static byte[] Recorded(string name)
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory!.FullName, "Airlock.slnx")))
        {
            directory = directory.Parent;
        }
        return File.ReadAllBytes(Path.Combine(directory.FullName, "bench", "data", name));
    }

    [Fact]
    public void Recorded_first_turn_of_claude_code_becomes_a_streamed_chat_completion_with_every_tool()
    {
        var body = Recorded("claude-code-request.json");
        using var original = JsonDocument.Parse(body);
        using var translated = JsonDocument.Parse(MessagesToChatCompletions.Translate(body, "qwen3-coder", stream: true));
        var root = translated.RootElement;

        Assert.Equal(["model", "messages", "tools", "max_tokens", "stream", "stream_options"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("qwen3-coder", root.GetProperty("model").GetString());
        Assert.Equal(128000, root.GetProperty("max_tokens").GetInt32());
        Assert.True(root.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());

        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        // The system prompt first (its blocks joined), then the user turn, then the system message Claude Code
        // put inside messages, where it was.
        Assert.Equal(["system", "user", "system"], messages.Select(m => m.GetProperty("role").GetString()));
        var systemBlocks = original.RootElement.GetProperty("system").EnumerateArray().Select(b => b.GetProperty("text").GetString()).ToList();
        Assert.Equal(string.Join("\n\n", systemBlocks), messages[0].GetProperty("content").GetString());
        var userParts = messages[1].GetProperty("content").EnumerateArray().ToList();
        Assert.Equal(2, userParts.Count);
        Assert.Equal("say hi", userParts[1].GetProperty("text").GetString());
        Assert.Contains("Primary working directory", messages[2].GetProperty("content").GetString(), StringComparison.Ordinal);

        var tools = root.GetProperty("tools").EnumerateArray().ToList();
        var originalTools = original.RootElement.GetProperty("tools").EnumerateArray().ToList();
        Assert.Equal(originalTools.Count, tools.Count);
        for (var i = 0; i < tools.Count; i++)
        {
            Assert.Equal("function", tools[i].GetProperty("type").GetString());
            var function = tools[i].GetProperty("function");
            Assert.Equal(originalTools[i].GetProperty("name").GetString(), function.GetProperty("name").GetString());
            Assert.Equal(originalTools[i].GetProperty("description").GetString(), function.GetProperty("description").GetString());
            Assert.Equal(originalTools[i].GetProperty("input_schema").GetRawText(), function.GetProperty("parameters").GetRawText());
        }
        // cache_control, metadata, thinking, context_management, output_config: nothing of them reaches the server.
        var text = Encoding.UTF8.GetString(MessagesToChatCompletions.Translate(body, "qwen3-coder", stream: true));
        Assert.DoesNotContain("cache_control", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\"metadata\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("defer_loading", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Recorded_tool_result_turn_pairs_the_tool_call_with_its_tool_message()
    {
        var body = Recorded("claude-code-toolresult-request.json");
        using var original = JsonDocument.Parse(body);
        var root = Translate(Encoding.UTF8.GetString(body), stream: true);
        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["system", "user", "system", "assistant", "tool"], messages.Select(m => m.GetProperty("role").GetString()));
        var systemBlocks = original.RootElement.GetProperty("system").EnumerateArray().Select(b => b.GetProperty("text").GetString());
        Assert.Equal(string.Join("\n\n", systemBlocks), messages[0].GetProperty("content").GetString());
        // The system message Claude Code put inside messages was a plain string.
        Assert.Equal(original.RootElement.GetProperty("messages")[1].GetProperty("content").GetString(), messages[2].GetProperty("content").GetString());

        var toolUse = original.RootElement.GetProperty("messages")[2].GetProperty("content")[0];
        var call = Assert.Single(messages[3].GetProperty("tool_calls").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, messages[3].GetProperty("content").ValueKind);
        Assert.Equal(toolUse.GetProperty("id").GetString(), call.GetProperty("id").GetString());
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("Read", call.GetProperty("function").GetProperty("name").GetString());
        using (var arguments = JsonDocument.Parse(call.GetProperty("function").GetProperty("arguments").GetString()!))
        {
            Assert.Equal(toolUse.GetProperty("input").GetProperty("file_path").GetString(), arguments.RootElement.GetProperty("file_path").GetString());
        }

        var toolResult = original.RootElement.GetProperty("messages")[3].GetProperty("content")[0];
        Assert.Equal(toolUse.GetProperty("id").GetString(), messages[4].GetProperty("tool_call_id").GetString());
        Assert.Equal(toolResult.GetProperty("content").GetString(), messages[4].GetProperty("content").GetString());
        Assert.Contains("marker-", messages[4].GetProperty("content").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public void System_as_string_and_simple_user_text_stay_strings()
    {
        var root = Translate("""{"model":"x","max_tokens":10,"system":"be brief","messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""");
        var messages = root.GetProperty("messages");
        Assert.Equal("""[{"role":"system","content":"be brief"},{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]""", messages.GetRawText());
        Assert.False(root.TryGetProperty("stream", out _));
        Assert.False(root.TryGetProperty("stream_options", out _));
    }

    [Fact]
    public void Images_become_image_url_parts_base64_as_data_url_and_url_as_is()
    {
        var root = Translate("""
            {"model":"x","max_tokens":10,"messages":[{"role":"user","content":[
              {"type":"text","text":"what is this"},
              {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},
              {"type":"image","source":{"type":"url","url":"https://example.test/cat.jpg"}}]}]}
            """);
        var parts = root.GetProperty("messages")[0].GetProperty("content");
        Assert.Equal("""[{"type":"text","text":"what is this"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},{"type":"image_url","image_url":{"url":"https://example.test/cat.jpg"}}]""",
            parts.GetRawText());
    }

    [Fact]
    public void Tool_results_become_tool_messages_in_order_before_the_rest_of_the_turn()
    {
        var root = Translate("""
            {"model":"x","max_tokens":10,"messages":[
              {"role":"user","content":"list and read"},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hmm","signature":"c2ln"},{"type":"text","text":"Running two tools."},
                {"type":"tool_use","id":"toolu_1","name":"Bash","input":{"command":"ls"}},
                {"type":"tool_use","id":"toolu_2","name":"Read","input":{"file_path":"/a b/ü.txt"}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"toolu_1","content":[{"type":"text","text":"a.txt"},{"type":"text","text":"b.txt"}]},
                {"type":"tool_result","tool_use_id":"toolu_2","is_error":true,"content":"no such file"},
                {"type":"text","text":"and then?"}]}]}
            """);
        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["user", "assistant", "tool", "tool", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        // Thinking is dropped; text and calls stay in one assistant message.
        Assert.Equal("Running two tools.", messages[1].GetProperty("content").GetString());
        var calls = messages[1].GetProperty("tool_calls").EnumerateArray().ToList();
        Assert.Equal(["toolu_1", "toolu_2"], calls.Select(c => c.GetProperty("id").GetString()));
        Assert.Equal("""{"file_path":"/a b/ü.txt"}""", calls[1].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("toolu_1", messages[2].GetProperty("tool_call_id").GetString());
        Assert.Equal("a.txt\n\nb.txt", messages[2].GetProperty("content").GetString());
        Assert.Equal("toolu_2", messages[3].GetProperty("tool_call_id").GetString());
        Assert.Equal("Error: no such file", messages[3].GetProperty("content").GetString());
        Assert.Equal("and then?", messages[4].GetProperty("content").GetString());
    }

    [Fact]
    public void An_image_inside_a_tool_result_follows_the_tool_messages_as_a_user_message()
    {
        var root = Translate("""
            {"model":"x","max_tokens":10,"messages":[
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"Screenshot","input":{}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"captured"},
                {"type":"image","source":{"type":"base64","media_type":"image/jpeg","data":"/9j/"}}]}]}]}
            """);
        var messages = root.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["assistant", "tool", "user"], messages.Select(m => m.GetProperty("role").GetString()));
        Assert.Equal("{}", messages[0].GetProperty("tool_calls")[0].GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("captured", messages[1].GetProperty("content").GetString());
        Assert.Equal("data:image/jpeg;base64,/9j/", messages[2].GetProperty("content")[0].GetProperty("image_url").GetProperty("url").GetString());
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", "\"auto\"")]
    [InlineData("""{"type":"any"}""", "\"required\"")]
    [InlineData("""{"type":"none"}""", "\"none\"")]
    [InlineData("""{"type":"tool","name":"Read"}""", """{"type":"function","function":{"name":"Read"}}""")]
    public void Tool_choice_maps_to_its_chat_completions_form(string choice, string expected)
    {
        var root = Translate("""{"model":"x","max_tokens":10,"tool_choice":""" + choice + """
            ,"tools":[{"name":"Read","description":"reads","input_schema":{"type":"object","properties":{"p":{"type":"string"}}}}],
             "messages":[{"role":"user","content":"hi"}]}
            """);
        Assert.Equal(expected, root.GetProperty("tool_choice").GetRawText());
        Assert.Equal("""[{"type":"function","function":{"name":"Read","description":"reads","parameters":{"type":"object","properties":{"p":{"type":"string"}}}}}]""",
            root.GetProperty("tools").GetRawText());
        Assert.False(root.TryGetProperty("parallel_tool_calls", out _));
    }

    [Fact]
    public void Disabling_parallel_tool_use_sets_parallel_tool_calls_false_and_tool_choice_without_tools_is_left_out()
    {
        var withTools = Translate("""
            {"model":"x","max_tokens":10,"tool_choice":{"type":"auto","disable_parallel_tool_use":true},
             "tools":[{"name":"Read","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"hi"}]}
            """);
        Assert.False(withTools.GetProperty("parallel_tool_calls").GetBoolean());
        var withoutTools = Translate("""{"model":"x","max_tokens":10,"tool_choice":{"type":"auto"},"tools":[],"messages":[{"role":"user","content":"hi"}]}""");
        Assert.False(withoutTools.TryGetProperty("tool_choice", out _));
        Assert.False(withoutTools.TryGetProperty("tools", out _));
    }

    [Fact]
    public void Sampling_parameters_and_stop_sequences_carry_over_and_anthropic_only_fields_are_dropped()
    {
        var root = Translate("""
            {"model":"claude-x","max_tokens":512,"temperature":0.2,"top_p":0.9,"top_k":40,"stop_sequences":["END","STOP"],
             "metadata":{"user_id":"u"},"thinking":{"type":"enabled","budget_tokens":1024},"service_tier":"auto",
             "some_future_field":{"a":1},"messages":[{"role":"user","content":"hi"}]}
            """, model: "local-model", stream: true);
        Assert.Equal(["model", "messages", "max_tokens", "temperature", "top_p", "stop", "stream", "stream_options"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("local-model", root.GetProperty("model").GetString());
        Assert.Equal(0.2, root.GetProperty("temperature").GetDouble());
        Assert.Equal(0.9, root.GetProperty("top_p").GetDouble());
        Assert.Equal("""["END","STOP"]""", root.GetProperty("stop").GetRawText());
    }

    [Theory]
    [InlineData(128000, 8192, 8192)]
    [InlineData(1024, 8192, 1024)]
    public void Max_tokens_is_lowered_to_the_upstreams_cap(int asked, int cap, int sent)
    {
        var body = Encoding.UTF8.GetBytes("{\"model\":\"x\",\"max_tokens\":" + asked + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        using var document = JsonDocument.Parse(MessagesToChatCompletions.Translate(body, "m", stream: false, maxTokensCap: cap));
        Assert.Equal(sent, document.RootElement.GetProperty("max_tokens").GetInt32());
    }

    [Fact]
    public void An_assistant_turn_with_only_thinking_is_left_out()
    {
        var root = Translate("""
            {"model":"x","max_tokens":10,"messages":[{"role":"user","content":"a"},
              {"role":"assistant","content":[{"type":"redacted_thinking","data":"xyz"}]},{"role":"user","content":"b"}]}
            """);
        Assert.Equal(["user", "user"], root.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("role").GetString()));
    }

    [Theory]
    [InlineData("""{"model":"x","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"d"}}]}]}""",
        "messages[0].content[0].type", "'document' blocks")]
    [InlineData("""{"model":"x","messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}""",
        "messages[0].content[0].source.type", "'file' image sources")]
    [InlineData("""{"model":"x","tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}""",
        "tools[0].type", "server tool 'web_search_20250305'")]
    [InlineData("""{"model":"x","tools":[{"name":"Read"}],"messages":[{"role":"user","content":"hi"}]}""",
        "tools[0].input_schema", "required")]
    [InlineData("""{"model":"x","tool_choice":{"type":"sometimes"},"tools":[{"name":"R","input_schema":{}}],"messages":[{"role":"user","content":"hi"}]}""",
        "tool_choice.type", "'sometimes' has no chat-completions equivalent")]
    [InlineData("""{"model":"x","mcp_servers":[{"type":"url","url":"https://mcp.test","name":"m"}],"messages":[{"role":"user","content":"hi"}]}""",
        "mcp_servers", "MCP connector")]
    [InlineData("""{"model":"x","messages":[{"role":"robot","content":"hi"}]}""", "messages[0].role", "'robot' is not a Messages role")]
    [InlineData("""{"model":"x","messages":[{"role":"user"}]}""", "messages[0].content", "required")]
    [InlineData("""{"model":"x","messages":[{"role":"user","content":[{"type":"tool_result","content":"x"}]}]}""", "messages[0].content[0].tool_use_id", "required")]
    [InlineData("""{"model":"x","messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}""",
        "messages[0].content[0].type", "'server_tool_use' blocks")]
    [InlineData("""{"model":"x"}""", "messages", "required")]
    [InlineData("""{"model":"x","max_tokens":"many","messages":[]}""", "max_tokens", "must be a number")]
    public void What_cannot_be_expressed_is_refused_naming_the_field(string body, string field, string reason)
    {
        var refusal = Refused(body);
        Assert.Equal(field, refusal.Field);
        Assert.Contains(reason, refusal.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_refusal_does_not_quote_content()
    {
        var refusal = Refused("""{"model":"x","messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","data":"SECRET-VALUE-123"}}]}]}""");
        Assert.DoesNotContain("SECRET-VALUE-123", refusal.Message, StringComparison.Ordinal);
    }
}
