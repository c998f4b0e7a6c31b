using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Airlock.Core.Audit;
using Airlock.FunctionalTests.Infrastructure;

namespace Airlock.FunctionalTests;

/// <summary>Long Claude Code sessions send bodies of several MB; they must cross the gateway byte for byte, whatever their framing.</summary>
public sealed class LargeBodyTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(65_536, true)]
    [InlineData(65_537, true)]
    [InlineData(131_072, true)]
    [InlineData(65_536, false)]
    [InlineData(2_500_000, true)]
    [InlineData(2_500_000, false)]
    public async Task Body_of_any_size_below_the_limit_is_forwarded_exactly(int size, bool chunked)
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var body = BodyOfExactSize(size);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true")
        {
            Content = chunked ? new ChunkedContent(body, 7_919) : new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        var clock = Stopwatch.StartNew();
        using var response = await harness.Client.SendAsync(request);
        await response.Content.ReadAsByteArrayAsync();
        output.WriteLine($"{size} bytes ({(chunked ? "chunked" : "content-length")}) in {clock.ElapsedMilliseconds} ms");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal(size, received.Body.Length);
        Assert.True(body.AsSpan().SequenceEqual(received.Body.Span));
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal(size, record.RequestBytes);
    }

    /// <summary>A valid Messages body of exactly <paramref name="size"/> bytes: many user turns of varied text, padded with spaces.</summary>
    private static byte[] BodyOfExactSize(int size)
    {
        var builder = new StringBuilder("{\"model\":\"claude-opus-5-5\",\"max_tokens\":64,\"messages\":[");
        var turn = 0;
        const string closing = "]}";
        while (builder.Length < size - 400)
        {
            builder.Append(turn == 0 ? "" : ",")
                .Append("{\"role\":\"user\",\"content\":\"turn ").Append(turn)
                .Append(": the quick brown fox jumps over the lazy dog, caf\\u00e9, line\\nbreak ")
                .Append(new string((char)('a' + (turn % 26)), turn % 200))
                .Append("\"}");
            turn++;
        }
        builder.Append(closing);
        var bytes = Encoding.UTF8.GetBytes(builder.ToString());
        var padded = new byte[size];
        bytes.CopyTo(padded, 0);
        padded.AsSpan(bytes.Length).Fill((byte)' ');
        return padded;
    }
}
