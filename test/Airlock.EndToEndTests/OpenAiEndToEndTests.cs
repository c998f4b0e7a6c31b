using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.EndToEndTests;

/// <summary>
/// The real Claude Code CLI against the gateway's Messages door, with the gateway in front of a scripted OpenAI
/// chat-completions server (<c>kind: openai</c>, level 3): every turn is translated to chat completions, checked the
/// way such a server checks it (roles, tool message after tool_calls with matching ids, bearer key), and the answer
/// translated back into the Messages stream Claude Code reads.
/// </summary>
public sealed class OpenAiEndToEndTests(ITestOutputHelper output)
{
    private const string KeyVariable = "AIRLOCK_E2E_OPENAI_KEY";
    private const string LocalModel = "qwen3-coder-30b";

    private Task<GatewayHarness> StartAsync(ScriptedOpenAi openAi) =>
        GatewayHarness.StartAsync(output,
            configure: c => c with
            {
                Level = 3,
                Upstreams =
                [
                    new UpstreamConfig
                    {
                        Name = "on-prem",
                        Kind = UpstreamKind.OpenAi,
                        Url = openAi.BaseUri,
                        ApiKeyEnv = KeyVariable,
                        ModelMap = [new ModelMapping { Match = "claude-*", Model = LocalModel }],
                    },
                ],
                Routes = [new RouteConfig { Models = ["*"], Upstream = "on-prem" }],
            },
            environment: name => name == KeyVariable ? ScriptedOpenAi.DefaultApiKey : null);

    [ClaudeCodeFact]
    public async Task Claude_code_runs_a_tool_round_trip_against_an_openai_chat_completions_server()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-openai-").FullName;
        try
        {
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, "notes.txt");
            await File.WriteAllTextAsync(filePath, $"Release notes\n{marker}\n");
            await using var openAi = await ScriptedOpenAi.StartAsync(new ScriptedOpenAi { Models = new HashSet<string> { LocalModel } });
            await using var harness = await StartAsync(openAi);
            openAi.RespondWithToolRoundTrip("Read", new { file_path = filePath }, "Read the notes through an on-prem model.");

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read notes.txt",
                BaseUrl = harness.BaseUrl,
                ApiKey = harness.DeveloperKey,
                WorkingDirectory = project,
                AllowedTools = ["Read"],
            });
            output.WriteLine(result.Describe());

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("Read the notes through an on-prem model.", result.ResultText);
            Assert.Empty(openAi.Failures);
            var calls = openAi.Calls;
            Assert.Equal(2, calls.Count);
            Assert.All(calls, c =>
            {
                Assert.True(c.Streaming);
                Assert.Equal(LocalModel, c.Model);
                Assert.Equal("Bearer " + ScriptedOpenAi.DefaultApiKey, c.Request.Header("authorization"));
                Assert.Null(c.Request.Header("x-api-key"));
            });
            // The second turn carries the tool call the model made and the file's text as the tool message
            // answering it (the scripted server refused the turn if the ids did not match).
            var assistant = calls[1].Messages.Last(m => m.GetProperty("role").GetString() == "assistant");
            var toolCall = Assert.Single(assistant.GetProperty("tool_calls").EnumerateArray());
            Assert.Equal("Read", toolCall.GetProperty("function").GetProperty("name").GetString());
            var (toolCallId, content) = Assert.Single(calls[1].TrailingToolMessages());
            Assert.Equal(toolCall.GetProperty("id").GetString(), toolCallId);
            Assert.Contains(marker, content, StringComparison.Ordinal);

            var records = (await harness.AuditAsync(2)).Where(r => r.Kind == AuditKind.Request).ToList();
            Assert.Equal(2, records.Count);
            Assert.All(records, r =>
            {
                Assert.Equal("messages", r.Door);
                Assert.Equal("on-prem", r.Upstream);
                Assert.Equal(GatewayHarness.DeveloperUser, r.User);
                Assert.Equal(AuditOutcome.Ok, r.Outcome);
                Assert.NotNull(r.OutputTokens);
            });
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [ClaudeCodeFact]
    public async Task Claude_code_shows_an_answer_streamed_with_reasoning_from_an_openai_server()
    {
        await using var openAi = await ScriptedOpenAi.StartAsync();
        await using var harness = await StartAsync(openAi);
        openAi.DefaultReply = ScriptedOpenAiReplies.ReasoningThenText("The user greets me; answer briefly.", "Hi from the on-prem model.");

        var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
        {
            Prompt = "say hi",
            BaseUrl = harness.BaseUrl,
            ApiKey = harness.DeveloperKey,
        });
        output.WriteLine(result.Describe());

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("Hi from the on-prem model.", result.ResultText);
        Assert.Single(openAi.Calls);
        Assert.Empty(openAi.Failures);
    }
}
