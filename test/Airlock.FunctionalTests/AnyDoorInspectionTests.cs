using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Issue 4, "any door to any upstream, with identity, inspection and audit identical whichever door was used": the same
/// conversation (a fake AWS key id in a prompt, a fake Stripe key in a tool result) sent through the Messages, Bedrock and
/// Vertex doors of one gateway, for each upstream kind (Anthropic, an on-premises Messages server, Bedrock, Vertex, an
/// OpenAI-compatible server). Every upstream receives the same placeholders and never the values;
/// the three audit records name the same key, user, team and findings (rule, category, JSON location, action, keyed hash);
/// only <c>door</c> differs. This also covers the door/upstream pairs no other test takes (Bedrock → Vertex,
/// Vertex → Bedrock, Vertex → OpenAI-compatible).
/// </summary>
public sealed partial class AnyDoorInspectionTests(ITestOutputHelper output)
{
    private const string Model = "claude-opus-5-5";
    private const string BedrockProfile = "us.anthropic.claude-opus-5-5-v1:0";
    private const string OpenAiKeyVariable = "AIRLOCK_TEST_OPENAI_KEY";

    public enum Target
    {
        Anthropic,
        OnPremMessages,
        Bedrock,
        Vertex,
        OpenAi,
    }

    // Format-valid FAKE values, new on every run.
    private static string FakeAwsKeyId() => "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);

    private static string FakeStripeKey() => "sk_live_" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", 32);

    /// <summary>The conversation every door sends: the same <c>messages</c> array, in each door's body shape.</summary>
    private static string Conversation(string keyId, string stripeKey) =>
        "\"messages\":[" +
        "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"deploy with " + keyId + " and read the config\"}]}," +
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_01\",\"name\":\"Read\",\"input\":{\"file_path\":\"/repo/.env\"}}]}," +
        "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_01\",\"content\":[{\"type\":\"text\",\"text\":\"     1\\tSTRIPE_KEY=" + stripeKey + "\\n\"}]}]}" +
        "]";

    [Theory]
    [InlineData(Target.Anthropic)]
    [InlineData(Target.OnPremMessages)]
    [InlineData(Target.Bedrock)]
    [InlineData(Target.Vertex)]
    [InlineData(Target.OpenAi)]
    public async Task Every_door_gives_the_upstream_the_same_placeholders_and_the_trail_the_same_findings(Target target)
    {
        await using var openAi = target == Target.OpenAi ? await ScriptedOpenAi.StartAsync() : null;
        await using var harness = await GatewayHarness.StartAsync(output,
            upstreamKind: target switch
            {
                Target.Bedrock => UpstreamKind.Bedrock,
                Target.Vertex => UpstreamKind.Vertex,
                Target.OnPremMessages => UpstreamKind.Messages,
                _ => UpstreamKind.Anthropic,
            },
            // An on-premises Messages server (vLLM, Ollama, llama.cpp) takes the gateway's key as a bearer token.
            upstreamOptions: new ScriptedUpstreamOptions { AcceptBearerToken = target == Target.OnPremMessages },
            configure: c => c with
            {
                Upstreams = [target switch
                {
                    Target.Bedrock => c.Upstreams[0] with { ModelMap = [new ModelMapping { Match = "claude-opus-*", Model = BedrockProfile }] },
                    Target.OpenAi => new UpstreamConfig
                    {
                        Name = "main",
                        Kind = UpstreamKind.OpenAi,
                        Url = openAi!.BaseUri,
                        ApiKeyEnv = OpenAiKeyVariable,
                        ModelMap = [new ModelMapping { Match = "claude-*", Model = "qwen3-coder-30b" }],
                    },
                    _ => c.Upstreams[0],
                }],
            },
            environment: name => name == OpenAiKeyVariable ? ScriptedOpenAi.DefaultApiKey : null);

        var keyId = FakeAwsKeyId();
        var stripeKey = FakeStripeKey();
        var conversation = Conversation(keyId, stripeKey);

        await SendMessagesDoorAsync(harness, "{\"model\":\"" + Model + "\",\"max_tokens\":64,\"stream\":true," + conversation + "}");
        await SendBedrockDoorAsync(harness, "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64," + conversation + "}");
        await SendVertexDoorAsync(harness, "{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":64,\"stream\":true," + conversation + "}");

        // What the upstream received, in the order the doors were used.
        IReadOnlyList<string> received = target switch
        {
            Target.Anthropic or Target.OnPremMessages => [.. harness.Upstream.MessagesRequests.Select(r => r.BodyText)],
            Target.Bedrock => [.. harness.Upstream.Bedrock.Calls.Select(c => c.Request.BodyText)],
            Target.Vertex => [.. harness.Upstream.VertexRequests.Select(r => r.BodyText)],
            _ => [.. openAi!.Calls.Select(c => c.Request.BodyText)],
        };
        Assert.Equal(3, received.Count);
        var placeholders = received.Select(body =>
        {
            Assert.DoesNotContain(keyId, body, StringComparison.Ordinal);
            Assert.DoesNotContain(stripeKey, body, StringComparison.Ordinal);
            return string.Join(" ", PlaceholderPattern().Matches(body).Select(m => m.Value));
        }).ToList();
        output.WriteLine("placeholders: " + placeholders[0]);
        Assert.Matches(@"^\[REDACTED:aws-access-key-id:[0-9a-f]{4}\] \[REDACTED:stripe[a-z0-9-]*:[0-9a-f]{4}\]$", placeholders[0]);
        Assert.All(placeholders, p => Assert.Equal(placeholders[0], p));

        var records = await harness.AuditAsync(3);
        Assert.Equal(["messages", "bedrock", "vertex"], records.Select(r => r.Door));
        Assert.All(records, r =>
        {
            Assert.Equal(AuditOutcome.Ok, r.Outcome);
            Assert.Equal(GatewayHarness.DeveloperUser, r.User);
            Assert.Equal(GatewayHarness.DeveloperTeam, r.Team);
            Assert.Equal(harness.DeveloperKeyRecord.Id, r.KeyId);
            Assert.Equal("main", r.Upstream);
        });
        var findings = records.Select(r => r.Findings.OrderBy(f => f.Location, StringComparer.Ordinal).ToList()).ToList();
        Assert.Equal(
            [("aws-access-key-id", "messages[0].content[0].text", "redact"), ("stripe", "messages[2].content[0].content[0].text", "redact")],
            findings[0].Select(f => (f.RuleId.StartsWith("stripe", StringComparison.Ordinal) ? "stripe" : f.RuleId, f.Location, f.Action)));
        Assert.All(findings, f => Assert.Equal(findings[0], f));
        await harness.AssertNotStoredAsync(keyId);
        await harness.AssertNotStoredAsync(stripeKey);
    }

    /// <summary>
    /// Dot segments that climb out of a door's prefix: Kestrel resolves them before routing (the first reached the Anthropic
    /// 404 with no audit record, the second the Messages door), but the raw target names the door, which refuses them in its
    /// own shape with an audit record.
    /// </summary>
    [Theory]
    [InlineData("/bedrock/model/../../v1/messages/invoke", "bedrock", 400, "invalid_path")]
    [InlineData("/bedrock/../v1/messages", "bedrock", 400, "invalid_path")]
    [InlineData("/vertex/v1/projects/p/locations/us-east5/publishers/anthropic/models/../../../../../../../../../v1/messages:rawPredict", "vertex", 404, "unknown_path")]
    public async Task A_dot_dot_that_climbs_out_of_a_door_is_refused_by_that_door_and_audited(string target, string door, int status, string errorType)
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        var response = await RawHttp.PostAsync(harness.GatewayUri, target,
            [new("Authorization", "Bearer " + harness.DeveloperKey), new("anthropic-version", "2023-06-01")],
            Encoding.UTF8.GetBytes("{\"model\":\"claude-opus-5-5\",\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":8,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"));

        output.WriteLine($"{response.Status} {response.Body}");
        Assert.Equal(status, response.Status);
        if (door == "bedrock")
        {
            Assert.Equal("ValidationException", response.Headers["x-amzn-errortype"]);
        }
        else
        {
            Assert.Contains("\"status\":\"NOT_FOUND\"", response.Body, StringComparison.Ordinal);
        }
        Assert.Empty(harness.Upstream.Requests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(door, record.Door);
        Assert.Equal(errorType, record.ErrorType);
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
    }

    private static async Task SendMessagesDoorAsync(GatewayHarness harness, string body)
    {
        using var request = harness.Messages(body, "sess-any-door");
        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"messages door: {(int)response.StatusCode} {text}");
        Assert.Contains("message_stop", text, StringComparison.Ordinal);
    }

    private static async Task SendBedrockDoorAsync(GatewayHarness harness, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/bedrock/model/" + Model + "/invoke-with-response-stream")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("User-Agent", "claude-cli/2.1.330 (external, sdk-cli)");
        request.Headers.TryAddWithoutValidation("X-Claude-Code-Session-Id", "sess-any-door");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var bytes = await response.Content.ReadAsByteArrayAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"bedrock door: {(int)response.StatusCode} {Encoding.UTF8.GetString(bytes)}");
        Assert.Equal("application/vnd.amazon.eventstream", response.Content.Headers.ContentType?.MediaType);
        Assert.DoesNotContain(Airlock.Protocols.Aws.EventStream.EventStreamDecoder.DecodeAll(bytes), m => m.GetString(":message-type") == "exception");
    }

    private static async Task SendVertexDoorAsync(GatewayHarness harness, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"/vertex/v1/projects/client-project/locations/{GatewayHarness.VertexRegion}/publishers/anthropic/models/{Model}:streamRawPredict")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        GatewayHarness.AddClaudeCodeHeaders(request, "sess-any-door");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"vertex door: {(int)response.StatusCode} {text}");
        Assert.Contains("message_stop", text, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\[REDACTED:[a-z0-9-]+:[0-9a-f]{4}\]")]
    private static partial Regex PlaceholderPattern();
}
