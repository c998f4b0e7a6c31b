using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;

namespace Airlock.FunctionalTests;

/// <summary>
/// Every way a request can be wrong gets an Anthropic-shaped error with the right status, exactly one audit
/// record, and nothing reaches the upstream.
/// </summary>
public sealed class BadInputTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("{\"model\":\"claude-opus-5-5\",\"max_tokens\":5,\"messages\":[}")]
    [InlineData("{\"model\":\"claude-opus-5-5\",}")]
    [InlineData("{\"model\":\"claude-opus-5-5\"} trailing")]
    [InlineData("not json at all")]
    [InlineData("[{\"model\":\"claude-opus-5-5\"}]")]
    [InlineData("")]
    public async Task Malformed_json_is_400_invalid_request(string body)
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        var bytes = Encoding.UTF8.GetBytes(body);
        using var request = harness.Messages(bytes);
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        var record = await AssertRejectedAsync(harness, 400, "invalid_body");
        Assert.Equal(bytes.Length, record.RequestBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(bytes)), record.BodySha256);
    }

    [Fact]
    public async Task Invalid_utf8_is_400_and_names_the_offset()
    {
        await using var harness = await GatewayHarness.StartAsync(output);
        var prefix = Encoding.UTF8.GetBytes("{\"model\":\"claude-opus-5-5\",\"max_tokens\":5,\"messages\":[{\"role\":\"user\",\"content\":\"");
        byte[] body = [.. prefix, 0xC3, 0x28, .. "\"}]}"u8.ToArray()];

        using var request = harness.Messages(body);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.Contains($"offset {prefix.Length}", message, StringComparison.Ordinal);
        await AssertRejectedAsync(harness, 400, "invalid_body");
    }

    [Fact]
    public async Task Nesting_deeper_than_the_limit_is_400()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Limits = c.Limits with { MaxJsonDepth = 32 } });

        using (var request = harness.Messages(RequestBodies.Nested(40)))
        using (var response = await harness.Client.SendAsync(request))
        {
            var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
            Assert.Contains("depth", message, StringComparison.OrdinalIgnoreCase);
        }
        await AssertRejectedAsync(harness, 400, "invalid_body");
    }

    [Fact]
    public async Task Default_depth_limit_refuses_a_pathological_body()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = harness.Messages(RequestBodies.Nested(5000));
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        await AssertRejectedAsync(harness, 400, "invalid_body");
    }

    [Fact]
    public async Task Body_over_the_limit_with_a_declared_length_is_413()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Limits = c.Limits with { MaxBodyBytes = 4096 } });
        var body = Encoding.UTF8.GetBytes(RequestBodies.Streaming(prompt: new string('a', 64 * 1024)));

        using var request = harness.Messages(body);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(body.Length, request.Content!.Headers.ContentLength);
        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
        Assert.Contains("4096", message, StringComparison.Ordinal);
        var record = await AssertRejectedAsync(harness, 413, "body_too_large");
        Assert.Null(record.BodySha256);
    }

    [Fact]
    public async Task Chunked_body_over_the_limit_is_413()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Limits = c.Limits with { MaxBodyBytes = 4096 } });
        var body = Encoding.UTF8.GetBytes(RequestBodies.Streaming(prompt: new string('a', 64 * 1024)));

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages?beta=true") { Content = new ChunkedContent(body, 1000) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);

        Assert.True(request.Headers.TransferEncodingChunked);
        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.RequestEntityTooLarge, "request_too_large");
        await AssertRejectedAsync(harness, 413, "body_too_large");
    }

    [Fact]
    public async Task Chunked_body_within_the_limit_is_forwarded_with_its_length()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Limits = c.Limits with { MaxBodyBytes = 4096 } });
        var body = Encoding.UTF8.GetBytes(RequestBodies.NonStreaming());

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/messages") { Content = new ChunkedContent(body, 17) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(harness.Upstream.Requests);
        Assert.Equal(body, received.GetBodyBytes());
        Assert.Equal(body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), received.Header("content-length"));
        Assert.Null(received.Header("transfer-encoding"));
    }

    [Fact]
    public async Task Body_exactly_at_the_limit_is_accepted()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with { Limits = c.Limits with { MaxBodyBytes = 4096 } });
        var core = RequestBodies.NonStreaming();
        var body = Encoding.UTF8.GetBytes(core + new string(' ', 4096 - Encoding.UTF8.GetByteCount(core)));

        using var request = harness.Messages(body);
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(4096, body.Length);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("{\"max_tokens\":5,\"messages\":[]}", "model")]
    [InlineData("{\"model\":\"\",\"max_tokens\":5,\"messages\":[]}", "model")]
    [InlineData("{\"model\":7,\"max_tokens\":5,\"messages\":[]}", "model")]
    [InlineData("{\"model\":\"claude-opus-5-5\",\"stream\":\"yes\",\"messages\":[]}", "stream")]
    public async Task Missing_or_mistyped_model_is_400(string body, string field)
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = harness.Messages(body);
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request_error");
        Assert.StartsWith(field + ":", message, StringComparison.Ordinal);
        await AssertRejectedAsync(harness, 400, "invalid_body");
    }

    [Fact]
    public async Task Unknown_model_without_a_catch_all_route_is_404()
    {
        await using var harness = await GatewayHarness.StartAsync(output, c => c with
        {
            Routes = [new RouteConfig { Models = ["claude-opus-5-5", "claude-sonnet-*"], Upstream = "main" }],
        });

        using var request = harness.Messages(RequestBodies.Streaming(model: "gpt-5-codex"));
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.NotFound, "not_found_error");
        Assert.Contains("gpt-5-codex", message, StringComparison.Ordinal);
        var record = await AssertRejectedAsync(harness, 404, "no_route");
        Assert.Equal("gpt-5-codex", record.Model);
    }

    [Fact]
    public async Task Unknown_endpoint_is_404_in_the_anthropic_shape()
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/complete") { Content = new StringContent("{}") };
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);

        await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.NotFound, "not_found_error");
        Assert.Empty(harness.Upstream.Requests);
    }

    [Theory]
    [InlineData("GET", "/v1/messages")]
    [InlineData("PUT", "/v1/messages/count_tokens")]
    [InlineData("DELETE", "/v1/models")]
    public async Task Wrong_method_on_a_known_path_is_an_anthropic_shaped_error(string method, string path)
    {
        await using var harness = await GatewayHarness.StartAsync(output);

        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed, $"{(int)response.StatusCode}: {body}");
        ErrorAssert.IsErrorJson(body, response.StatusCode == HttpStatusCode.NotFound ? "not_found_error" : "invalid_request_error");
        Assert.Empty(harness.Upstream.Requests);
    }

    private static async Task<AuditRecord> AssertRejectedAsync(GatewayHarness harness, int status, string errorType)
    {
        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Rejected, record.Outcome);
        Assert.Equal(status, record.Status);
        Assert.Equal(errorType, record.ErrorType);
        Assert.Equal(harness.DeveloperKeyRecord.Id, record.KeyId);
        Assert.Null(record.Upstream);
        Assert.Empty(harness.Upstream.Requests);
        return record;
    }
}
