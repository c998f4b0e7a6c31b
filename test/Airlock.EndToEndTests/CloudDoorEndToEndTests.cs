using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Testing;
using Xunit.Abstractions;

namespace Airlock.EndToEndTests;

/// <summary>
/// The real Claude Code CLI in Bedrock mode and in Vertex mode, pointed at the gateway's Bedrock and Vertex doors
/// (skip-auth, the gateway key as ANTHROPIC_AUTH_TOKEN), with the gateway in front of a scripted Bedrock (SigV4
/// verified) and a scripted Vertex (OAuth token from a real service-account flow): a tool round trip each.
/// </summary>
public sealed class CloudDoorEndToEndTests(ITestOutputHelper output)
{
    [ClaudeCodeFact]
    public async Task Bedrock_mode_tool_round_trip_through_the_bedrock_door_to_a_signed_bedrock_upstream()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-bedrock-").FullName;
        try
        {
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, "notes.txt");
            await File.WriteAllTextAsync(filePath, $"Release notes\n{marker}\n");
            await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock);
            var toolUse = UpstreamReply.ToolUse("Read", new { file_path = filePath });
            var done = UpstreamReply.Text("Read the notes over Bedrock.");
            harness.Upstream.Bedrock.Responder = call => call.Request.LastMessageHasToolResult ? done : toolUse;

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read notes.txt",
                BaseUrl = harness.BaseUrl,
                AuthToken = harness.DeveloperKey,
                WorkingDirectory = project,
                Environment = new Dictionary<string, string>
                {
                    ["CLAUDE_CODE_USE_BEDROCK"] = "1",
                    ["ANTHROPIC_BEDROCK_BASE_URL"] = harness.BaseUrl + "/bedrock",
                    ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"] = "1",
                    ["AWS_REGION"] = ScriptedUpstream.BedrockRegion,
                },
            });
            output.WriteLine(result.Describe());

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("Read the notes over Bedrock.", result.ResultText);
            var calls = harness.Upstream.Bedrock.Calls.Where(c => c.ModelId is not null).ToList();
            Assert.Equal(2, calls.Count);
            Assert.All(calls, c => Assert.True(c.Streaming));
            Assert.Empty(harness.Upstream.Bedrock.Failures);
            // A refused signature (or path, body, model) would be hidden by the filter above: the fake refused nothing.
            Assert.Empty(harness.Upstream.Bedrock.Rejections);
            Assert.Contains(marker, Assert.Single(calls[1].Request.LastMessageToolResults()).Content, StringComparison.Ordinal);

            var records = (await harness.AuditAsync(2)).Where(r => r.Operation == "invoke_with_response_stream").ToList();
            Assert.Equal(2, records.Count);
            Assert.All(records, r =>
            {
                Assert.Equal("bedrock", r.Door);
                Assert.Equal(GatewayHarness.DeveloperUser, r.User);
                Assert.Equal(AuditOutcome.Ok, r.Outcome);
                Assert.Equal(calls[0].ModelId, r.Model);
                Assert.NotNull(r.OutputTokens);
            });
        }
        finally
        {
            Directory.Delete(project, recursive: true);
        }
    }

    [ClaudeCodeFact]
    public async Task Vertex_mode_tool_round_trip_through_the_vertex_door_to_an_oauth_vertex_upstream()
    {
        var project = Directory.CreateTempSubdirectory("airlock-e2e-vertex-").FullName;
        try
        {
            var marker = $"marker-{Guid.NewGuid():N}";
            var filePath = Path.Combine(project, "notes.txt");
            await File.WriteAllTextAsync(filePath, $"Release notes\n{marker}\n");
            await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex);
            harness.Upstream.RespondWithToolRoundTrip("Read", new { file_path = filePath }, "Read the notes over Vertex.");

            var result = await ClaudeCodeCli.RunAsync(new ClaudeCodeRunOptions
            {
                Prompt = "Read notes.txt",
                BaseUrl = harness.BaseUrl,
                AuthToken = harness.DeveloperKey,
                WorkingDirectory = project,
                Environment = new Dictionary<string, string>
                {
                    ["CLAUDE_CODE_USE_VERTEX"] = "1",
                    ["ANTHROPIC_VERTEX_BASE_URL"] = harness.BaseUrl + "/vertex/v1",
                    ["CLAUDE_CODE_SKIP_VERTEX_AUTH"] = "1",
                    ["ANTHROPIC_VERTEX_PROJECT_ID"] = "developer-project",
                    ["CLOUD_ML_REGION"] = GatewayHarness.VertexRegion,
                },
            });
            output.WriteLine(result.Describe());

            Assert.Equal(0, result.ExitCode);
            Assert.Equal("Read the notes over Vertex.", result.ResultText);
            var turns = harness.Upstream.VertexRequests;
            Assert.Equal(2, turns.Count);
            Assert.All(turns, t => Assert.StartsWith("Bearer ya29.scripted-", t.Header("authorization")));
            Assert.Equal(1, harness.Upstream.GoogleAuth.Grants);
            Assert.Contains(marker, Assert.Single(turns[1].LastMessageToolResults()).Content, StringComparison.Ordinal);

            var sessionId = turns[0].Header("x-claude-code-session-id");
            var records = await harness.SessionAuditAsync(sessionId);
            Assert.Equal(2, records.Count);
            Assert.All(records, r =>
            {
                Assert.Equal("vertex", r.Door);
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
}
