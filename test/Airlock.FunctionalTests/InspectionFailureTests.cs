using System.Net;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Inspection;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// An exception inside inspection (a scanner bug, a rule that throws) must follow <c>inspection.on_error</c>:
/// refuse with a protocol-shaped 500 and an audit record (default, fail closed), or forward the original bytes and
/// record that inspection was skipped. The scanner is the real configured one, wrapped so that it throws on a marker.
/// </summary>
public sealed class InspectionFailureTests(ITestOutputHelper output)
{
    private const string Marker = "trigger-scanner-failure-7c1e";

    [Fact]
    public async Task A_failing_scanner_refuses_the_request_by_default_and_forwards_nothing()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Gateway.Inspection!.DecorateRequestScanner(scanner => new ThrowingScanner(scanner));
        var body = Body(Marker);

        using var response = await harness.Client.SendAsync(harness.Messages(body, "sess-fail-closed"));

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.InternalServerError, "api_error");
        Assert.Contains("inspection failed", message, StringComparison.Ordinal);
        Assert.DoesNotContain(Marker, message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.MessagesRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
        Assert.Equal("inspection_error", record.ErrorType);
        await harness.AssertNotStoredAsync(Marker);
    }

    [Fact]
    public async Task A_failing_scanner_passes_the_original_bytes_when_on_error_is_pass_and_the_record_says_so()
    {
        await using var harness = await GatewayHarness.StartAsync(output, config => config with
        {
            Inspection = config.Inspection with { FailClosed = false },
        });
        harness.Gateway.Inspection!.DecorateRequestScanner(scanner => new ThrowingScanner(scanner));
        var body = Body(Marker);

        using var response = await harness.Client.SendAsync(harness.Messages(body, "sess-fail-open"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        Assert.Equal(body, Assert.Single(harness.Upstream.MessagesRequests).BodyText);
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("inspection_error_passed", record.ErrorType);
    }

    [Fact]
    public async Task Requests_the_failing_scanner_handles_still_go_through()
    {
        // The seam only adds a failure: without the marker the wrapped (real) scanner inspects as usual.
        await using var harness = await GatewayHarness.StartAsync(output);
        harness.Gateway.Inspection!.DecorateRequestScanner(scanner => new ThrowingScanner(scanner));
        var body = Body("an ordinary question");

        using var response = await harness.Client.SendAsync(harness.Messages(body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await response.Content.ReadAsStringAsync();
        Assert.Equal(body, Assert.Single(harness.Upstream.MessagesRequests).BodyText);
        Assert.Equal(AuditOutcome.Ok, (await harness.SingleAuditAsync()).Outcome);
    }

    private static string Body(string text) =>
        $$"""{"model":"claude-opus-5-5","max_tokens":16,"stream":true,"messages":[{"role":"user","content":[{"type":"text","text":"{{text}}"}]}]}""";

    /// <summary>The configured scanner, except that a text holding <see cref="Marker"/> makes it throw.</summary>
    private sealed class ThrowingScanner(ITextScanner inner) : ITextScanner
    {
        public void Scan(string text, List<TextMatch> results)
        {
            if (text.Contains(Marker, StringComparison.Ordinal))
            {
                throw new InvalidOperationException("injected scanner failure on " + text);
            }

            inner.Scan(text, results);
        }
    }
}
