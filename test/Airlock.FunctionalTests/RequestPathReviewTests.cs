using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Protocols.Aws.Bedrock;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// The request path as session 6 left it, taken through the real gateway (its own validation pass hands the inspector
/// the member layout): odd bodies must not carry a secret past inspection through either door, the Bedrock door's
/// converted body (a pooled buffer) must hold exactly the request's bytes under concurrency and retries, and the
/// deferred body hash must be the SHA-256 of the bytes received on every way a request ends.
/// </summary>
public sealed class RequestPathReviewTests(ITestOutputHelper output)
{
    private const string Marker = "KEYID";

    private static string FakeAwsKeyId() => "AKIA" + RandomNumberGenerator.GetString("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16);

    private static string Hash(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    /// <summary>Members (after the door's own fields) in which a key id reaches the model.</summary>
    public static TheoryData<string, string> OddBodies()
    {
        var tools = "\"tools\":[" + string.Join(',', Enumerable.Range(0, 1500).Select(i => Q("{'name':'t" + i + "','description':'" + new string('d', 180) + "','input_schema':{'type':'object'}}"))) + "]";
        var data = new TheoryData<string, string>();
        foreach (var door in new[] { "messages", "bedrock" })
        {
            // The upstream's JSON parser keeps one of two duplicates (which one differs between parsers): both are inspected.
            data.Add(door, Q("'messages':[{'role':'user','content':'hi'}],'messages':[{'role':'user','content':'deploy with KEYID'}]"));
            data.Add(door, Q("'messages':[{'role':'user','content':'deploy with KEYID'}],'messages':[{'role':'user','content':'hi'}]"));
            data.Add(door, Q("'system':'plain','messages':[{'role':'user','content':'hi'}],'system':[{'type':'text','text':'use KEYID'}]"));
            // Escaped member names are the members they spell, to the upstream as to the inspector.
            data.Add(door, Q("'m\\u0065ssages':[{'role':'user','content':[{'type':'text','text':'deploy with KEYID'}]}]"));
            data.Add(door, Q("'messages':[{'role':'user','content':'hi'}],'\\u0073ystem':'use KEYID' "));
            data.Add(door, Q("'messages':[{'role':'user','content':[{'type':'tool_result','tool_use_id':'t','c\\u006fntent':'KEYID'}]}]"));
            // Members after a large tools member are still read.
            data.Add(door, tools + ""","messages":[{"role":"user","content":"hi"}],"system":[{"type":"text","text":"use KEYID"}]""");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(OddBodies))]
    public async Task Odd_bodies_through_the_gateways_own_validation_never_carry_a_key_upstream(string door, string members)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var keyId = FakeAwsKeyId();
        var body = Encoding.UTF8.GetBytes(Body(door, members.Replace(Marker, keyId, StringComparison.Ordinal)));

        // Twice: the second request finds the system prompt (and conversation) remembered from the first.
        for (var turn = 0; turn < 2; turn++)
        {
            using var request = Request(harness, door, body);
            using var response = await harness.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
        }

        var forwarded = harness.Upstream.MessagesRequests;
        Assert.Equal(2, forwarded.Count);
        foreach (var sent in forwarded)
        {
            Assert.DoesNotContain(keyId, sent.BodyText, StringComparison.Ordinal);
            Assert.Contains("[REDACTED:aws-access-key-id:", sent.BodyText, StringComparison.Ordinal);
            using var json = JsonDocument.Parse(sent.Body);
        }

        var records = await harness.AuditAsync(2);
        Assert.All(records, r =>
        {
            Assert.Contains(r.Findings, f => f.RuleId == "aws-access-key-id" && f.Action == "redact");
            Assert.Equal(Hash(body), r.BodySha256);
        });
        await harness.AssertNotStoredAsync(keyId);
    }

    [Fact]
    public async Task Converted_bodies_in_pooled_buffers_hold_each_requests_own_bytes_under_concurrency_and_retries()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            // Half the attempts fail on purpose: the circuit breaker would take the upstream out of rotation.
            Upstreams = [c.Upstreams[0] with { Retries = 1, RetryBackoff = TimeSpan.FromMilliseconds(5), CircuitBreaker = new CircuitBreakerConfig { Enabled = false } }],
        });
        // Every request's first attempt is throttled, so each converted body is built and sent twice.
        var attempts = new ConcurrentDictionary<string, ConcurrentBag<string>>(StringComparer.Ordinal);
        harness.Upstream.Responder = recorded =>
        {
            using var json = JsonDocument.Parse(recorded.Body);
            var tag = json.RootElement.GetProperty("metadata").GetProperty("user_id").GetString()!;
            var bag = attempts.GetOrAdd(tag, _ => []);
            bag.Add(recorded.BodyText);
            return bag.Count == 1 ? UpstreamReply.Error(529, "overloaded_error", "Overloaded") : UpstreamReply.Text("ok " + tag);
        };

        const int Requests = 24;
        var bodies = Enumerable.Range(0, Requests)
            .Select(i => Encoding.UTF8.GetBytes(Body("bedrock", $$"""
                "metadata":{"user_id":"req-{{i}}"},"messages":[{"role":"user","content":"{{new string((char)('a' + (i % 26)), 2000 + (i * 997))}}"}]
                """)))
            .ToArray();
        var results = await Task.WhenAll(bodies.Select(async body =>
        {
            using var request = Request(harness, "bedrock", body);
            using var response = await harness.Client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }));

        Assert.All(results, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Equal(Requests, attempts.Count);
        for (var i = 0; i < Requests; i++)
        {
            var sent = attempts[$"req-{i}"].ToArray();
            Assert.Equal(2, sent.Length);
            Assert.Equal(sent[0], sent[1]);
            using var json = JsonDocument.Parse(sent[0]);
            Assert.Equal(new string((char)('a' + (i % 26)), 2000 + (i * 997)),
                json.RootElement.GetProperty("messages")[0].GetProperty("content").GetString());
            Assert.False(json.RootElement.TryGetProperty("anthropic_version", out _));
        }

        var records = await harness.AuditAsync(Requests);
        var hashes = bodies.Select(Hash).ToHashSet(StringComparer.Ordinal);
        Assert.All(records, r => Assert.Contains(r.BodySha256!, hashes));
        Assert.Equal(Requests, records.Select(r => r.BodySha256).Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task The_body_hash_is_of_the_bytes_received_on_every_way_a_request_ends()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Routes = [new RouteConfig { Models = ["claude-*", "us.anthropic.*"], Upstream = "main" }],
        });
        var keyId = FakeAwsKeyId();
        var expected = new List<(string Outcome, string Hash)>();

        async Task SendAsync(string door, byte[] body, HttpStatusCode status, string what)
        {
            using var request = Request(harness, door, body);
            using var response = await harness.Client.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
            await response.Content.ReadAsByteArrayAsync();
            expected.Add((what, Hash(body)));
        }

        // Redacted (the upstream gets other bytes), through both doors (the Bedrock door also converts them).
        await SendAsync("messages", Encoding.UTF8.GetBytes(Body("messages", Q("'messages':[{'role':'user','content':'deploy " + keyId + "'}]"))), HttpStatusCode.OK, "redacted");
        await SendAsync("bedrock", Encoding.UTF8.GetBytes(Body("bedrock", Q("'messages':[{'role':'user','content':'deploy " + keyId + "'}]"))), HttpStatusCode.OK, "redacted-bedrock");
        // Blocked by policy (a key in a signed thinking block cannot be redacted).
        await SendAsync("messages", Encoding.UTF8.GetBytes(Body("messages",
            Q("'messages':[{'role':'assistant','content':[{'type':'thinking','thinking':'key " + keyId + "','signature':'c2ln'}]},{'role':'user','content':'go'}]"))),
            HttpStatusCode.BadRequest, "blocked");
        // Refused before inspection: invalid JSON, and a model no route serves.
        await SendAsync("messages", "{\"model\":\"claude-x\",\"messages\":[}"u8.ToArray(), HttpStatusCode.BadRequest, "invalid");
        await SendAsync("messages", """{"model":"gpt-9","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}"""u8.ToArray(), HttpStatusCode.NotFound, "no_route");
        // A Bedrock CountTokens body: the hash is of the wrapper received, not of the body inside it.
        var wrapped = BedrockCountTokens.WrapInvokeBody(Encoding.UTF8.GetBytes(Body("bedrock", Q("'messages':[{'role':'user','content':'count me'}]"))));
        using (var count = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/us.anthropic.claude-opus-5-5-v1:0/count-tokens"))
        {
            Content = new ByteArrayContent(wrapped),
        })
        {
            count.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
            using var counted = await harness.Client.SendAsync(count);
            Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
            expected.Add(("count", Hash(wrapped)));
        }

        // The client leaves while the upstream works.
        harness.Upstream.Enqueue(UpstreamReply.Hang());
        var abandoned = Encoding.UTF8.GetBytes(Body("bedrock", Q("'messages':[{'role':'user','content':'then leave'}]")));
        using (var leave = new CancellationTokenSource())
        {
            using var request = Request(harness, "bedrock", abandoned);
            var sending = harness.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, leave.Token);
            await harness.Upstream.WaitForRequestsAsync(4, TimeSpan.FromSeconds(90));
            await leave.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
            expected.Add(("abort", Hash(abandoned)));
        }

        var records = await harness.AuditAsync(expected.Count, TimeSpan.FromSeconds(90));
        Assert.Contains(records, r => r.Outcome == AuditOutcome.ClientAbort);
        Assert.Contains(records, r => r.Outcome == AuditOutcome.Blocked);
        Assert.Equal(expected.Select(e => e.Hash).Order(StringComparer.Ordinal), records.Select(r => r.BodySha256!).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_repeated_anthropic_beta_member_is_judged_whole_by_the_beta_policy()
    {
        // A deployment refuses a beta on Bedrock; the shipped rules drop claude-code-* there.
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Betas = [new BetaRuleConfig { Kind = UpstreamKind.Bedrock, Beta = "web-fetch-*", Action = "refuse" }],
        });
        const string Allowed = "interleaved-thinking-2025-05-14";

        // Which of two members a JSON parser keeps differs (the scripted Bedrock, like JsonDocument, keeps the last): the
        // refused flag in either copy refuses the request.
        foreach (var members in new[]
        {
            Q("'anthropic_beta':['" + Allowed + "'],'messages':[{'role':'user','content':'hi'}],'anthropic_beta':['web-fetch-2025-09-10']"),
            Q("'anthropic_beta':['web-fetch-2025-09-10'],'messages':[{'role':'user','content':'hi'}],'anthropic_beta':['" + Allowed + "']"),
        })
        {
            using var refused = await harness.Client.SendAsync(Request(harness, "bedrock", Encoding.UTF8.GetBytes(Body("bedrock", members))));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Contains("web-fetch-2025-09-10", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Empty(harness.Upstream.Bedrock.Calls);

        // A dropped flag in a second copy is dropped too: the upstream gets one member with what the policy kept.
        var body = Body("bedrock", Q("'anthropic_beta':['" + Allowed + "'],'messages':[{'role':'user','content':'hi'}],'anthropic_beta':['claude-code-20250219','" + Allowed + "']"));
        using var passed = await harness.Client.SendAsync(Request(harness, "bedrock", Encoding.UTF8.GetBytes(body)));
        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        var call = Assert.Single(harness.Upstream.Bedrock.Calls);
        Assert.Equal([Allowed], call.Betas);
        Assert.Equal(1, System.Text.RegularExpressions.Regex.Count(call.Request.BodyText, "\"anthropic_beta\""));
    }

    /// <summary>JSON written with single quotes (none of these bodies holds an apostrophe).</summary>
    private static string Q(string json) => json.Replace('\'', '"');

    /// <summary>A body for <paramref name="door"/>: the Messages door's has model and max_tokens, the Bedrock door's the version.</summary>
    private static string Body(string door, string members) => door == "bedrock"
        ? "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":16," + members + "}"
        : "{\"model\":\"claude-opus-5-5\",\"max_tokens\":16," + members + "}";

    private static HttpRequestMessage Request(GatewayHarness harness, string door, byte[] body)
    {
        if (door == "messages")
        {
            return harness.Messages(body);
        }

        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/us.anthropic.claude-opus-5-5-v1:0/invoke"))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }
}
