using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>One gateway takes every kind of bad input in a row and still serves the next good request.</summary>
public sealed class ResilienceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Gateway_survives_every_bad_input_and_records_each_request()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Limits = new LimitsConfig { MaxBodyBytes = 4096, MaxJsonDepth = 32 },
            Routes = [new RouteConfig { Models = ["claude-*"], Upstream = "main" }],
        });
        var expectedRecords = 0;

        async Task ExpectAsync(HttpRequestMessage request, HttpStatusCode status)
        {
            using (request)
            using (var response = await harness.Client.SendAsync(request))
            {
                Assert.Equal(status, response.StatusCode);
            }
            expectedRecords++;
        }

        await ExpectAsync(harness.Messages("{\"model\":"), HttpStatusCode.BadRequest);
        await ExpectAsync(harness.Messages([0x7B, 0xFF, 0x7D]), HttpStatusCode.BadRequest);
        await ExpectAsync(harness.Messages(RequestBodies.Nested(33)), HttpStatusCode.BadRequest);
        await ExpectAsync(harness.Messages(new byte[5000]), HttpStatusCode.RequestEntityTooLarge);
        var chunked = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new ChunkedContent(new byte[50_000], 4096) };
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        chunked.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        await ExpectAsync(chunked, HttpStatusCode.RequestEntityTooLarge);
        await ExpectAsync(harness.Messages("{\"messages\":[]}"), HttpStatusCode.BadRequest);
        await ExpectAsync(harness.Messages(RequestBodies.Streaming(model: "gpt-5")), HttpStatusCode.NotFound);
        await ExpectAsync(GatewayHarness.Post("/v1/messages", "{}"u8.ToArray(), apiKey: null), HttpStatusCode.Unauthorized);
        await ExpectAsync(GatewayHarness.Post("/v1/messages", "{}"u8.ToArray(), apiKey: "alk_nonsense"), HttpStatusCode.Unauthorized);
        await ExpectAsync(new HttpRequestMessage(HttpMethod.Get, "/v1/models"), HttpStatusCode.Unauthorized);

        // A client that promises 500 bytes, sends 20 and hangs up.
        await SendTruncatedBodyAsync(harness);
        expectedRecords++;
        var truncated = (await harness.AuditAsync(expectedRecords))[^1];
        output.WriteLine($"truncated body recorded as {truncated.Outcome} / {truncated.ErrorType}");
        // Kestrel reports the short body and the closed connection together; which one the gateway sees first
        // is a race, and both are true.
        Assert.Contains((truncated.Outcome, truncated.ErrorType), new (AuditOutcome, string?)[] { (AuditOutcome.Rejected, "bad_http_request"), (AuditOutcome.ClientAbort, "client_abort") });

        // Raw garbage never becomes a request (Kestrel answers 400 itself) and must not hurt the process.
        await SendRawAsync(harness, "THIS IS NOT HTTP\r\n\r\n"u8.ToArray());

        // An upstream that dies mid-stream, and a client that leaves while the upstream hangs.
        harness.Upstream.Enqueue(UpstreamReply.DieMidStream(afterEvents: 2), UpstreamReply.Hang());
        using (var request = harness.Messages(RequestBodies.Streaming()))
        using (var response = await harness.SendStreamingAsync(request))
        {
            var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
            Assert.Equal("error", events[^1].Name);
        }
        expectedRecords++;
        using (var cancel = new CancellationTokenSource())
        using (var request = harness.Messages(RequestBodies.Streaming()))
        {
            var sending = harness.SendStreamingAsync(request, cancel.Token);
            await harness.Upstream.WaitForRequestsAsync(2, TimeSpan.FromSeconds(10));
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => sending);
        }
        expectedRecords++;

        // The same gateway still serves a good request end to end.
        using (var request = harness.Messages(RequestBodies.Streaming()))
        using (var response = await harness.SendStreamingAsync(request))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());
            Assert.Equal("message_stop", events[^1].Name);
        }
        expectedRecords++;

        var records = await harness.AuditAsync(expectedRecords);
        await Task.Delay(100);
        records = await harness.AuditAsync(expectedRecords);
        Assert.Equal(expectedRecords, records.Count);
        // Records are written when each handler ends, so an abort may land after the good request: count, don't order.
        Assert.Equal(1, records.Count(r => r.Outcome == AuditOutcome.Ok));
        Assert.Equal(1, records.Count(r => r.ErrorType == "upstream_stream_broken"));
        Assert.Equal(truncated.ErrorType == "client_abort" ? 2 : 1, records.Count(r => r.ErrorType == "client_abort"));
        Assert.Equal(4, records.Count(r => r.ErrorType == "invalid_body"));
        Assert.Equal(2, records.Count(r => r.ErrorType == "body_too_large"));
        Assert.Equal(1, records.Count(r => r.ErrorType == "no_route"));
        Assert.Equal(3, records.Count(r => r.ErrorType is "auth_missing" or "auth_malformed"));
        Assert.Equal(truncated.ErrorType == "bad_http_request" ? 1 : 0, records.Count(r => r.ErrorType == "bad_http_request"));
        Assert.Equal(3, harness.Upstream.MessagesRequests.Count);
        await harness.AssertNotStoredAsync(RequestBodies.ContentMarker);
    }

    private static async Task SendTruncatedBodyAsync(GatewayHarness harness)
    {
        var head = "POST /v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 500\r\n" +
            "x-api-key: " + harness.DeveloperKey + "\r\n\r\n{\"model\":\"claude-opus";
        await SendRawAsync(harness, Encoding.ASCII.GetBytes(head));
    }

    private static async Task SendRawAsync(GatewayHarness harness, byte[] bytes)
    {
        using var socket = new TcpClient();
        await socket.ConnectAsync(IPAddress.Loopback, harness.GatewayUri.Port);
        var stream = socket.GetStream();
        await stream.WriteAsync(bytes);
        await stream.FlushAsync();
        await Task.Delay(100);
        socket.Client.Shutdown(SocketShutdown.Both);
    }
}
