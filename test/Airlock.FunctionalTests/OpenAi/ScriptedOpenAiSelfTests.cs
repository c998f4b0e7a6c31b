using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Airlock.FunctionalTests.OpenAi;

/// <summary>
/// The scripted OpenAI server refuses what a real chat-completions server refuses, so a translation mistake fails a
/// test instead of passing unnoticed.
/// </summary>
public sealed class ScriptedOpenAiSelfTests
{
    private static async Task<(HttpStatusCode Status, string Message)> PostAsync(ScriptedOpenAi server, string body, string? key = ScriptedOpenAi.DefaultApiKey)
    {
        using var client = new HttpClient { BaseAddress = server.BaseUri };
        using var request = new HttpRequestMessage(HttpMethod.Post, ScriptedOpenAi.ChatCompletionsPath) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return (response.StatusCode, text);
        }
        using var document = JsonDocument.Parse(text);
        return (response.StatusCode, document.RootElement.GetProperty("error").GetProperty("message").GetString()!);
    }

    [Theory]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"system":"x"}""", "Unrecognized request argument supplied: system")]
    [InlineData("""{"messages":[{"role":"user","content":"hi"}]}""", "you must provide a model parameter")]
    [InlineData("""{"model":"m","messages":[]}""", "Invalid 'messages': empty array")]
    [InlineData("""{"model":"m","messages":[{"role":"tool","tool_call_id":"a","content":"x"}]}""", "must be a response to a preceeding message with 'tool_calls'")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"R","arguments":"{}"}}]},{"role":"user","content":"hi"}]}""",
        "The following tool_call_ids did not have response messages: a")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"R","arguments":"{}"}}]},{"role":"tool","tool_call_id":"b","content":"x"}]}""",
        "does not answer a tool call")]
    [InlineData("""{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"a","type":"function","function":{"name":"R","arguments":{}}}]},{"role":"tool","tool_call_id":"a","content":"x"}]}""",
        "expected a string")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":[{"type":"image","source":{}}]}]}""", "expected a text or image_url part")]
    [InlineData("""{"model":"m","tool_choice":"auto","messages":[{"role":"user","content":"hi"}]}""", "only allowed when 'tools' are specified")]
    [InlineData("""{"model":"m","stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}""", "only allowed when 'stream' is enabled")]
    [InlineData("""{"model":"m","tools":[{"name":"R","input_schema":{}}],"messages":[{"role":"user","content":"hi"}]}""", "Invalid value for 'tools[0]'")]
    public async Task Refuses_what_a_chat_completions_server_refuses(string body, string message)
    {
        await using var server = await ScriptedOpenAi.StartAsync();
        var (status, text) = await PostAsync(server, body);
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains(message, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Checks_the_bearer_key_and_the_served_models()
    {
        await using var server = await ScriptedOpenAi.StartAsync(new ScriptedOpenAi { Models = new HashSet<string> { "served" } });
        const string body = """{"model":"served","messages":[{"role":"user","content":"hi"}]}""";
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(server, body, key: null)).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await PostAsync(server, body, key: "sk-wrong")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(server, body.Replace("served", "other", StringComparison.Ordinal))).Status);
        var (status, completion) = await PostAsync(server, body);
        Assert.Equal(HttpStatusCode.OK, status);
        using var document = JsonDocument.Parse(completion);
        Assert.Equal("chat.completion", document.RootElement.GetProperty("object").GetString());
    }
}
