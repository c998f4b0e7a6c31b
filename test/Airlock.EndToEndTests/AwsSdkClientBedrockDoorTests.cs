using System.Text.Json;
using Airlock.Testing;

namespace Airlock.EndToEndTests;

/// <summary>
/// The official AWS JavaScript client (<c>@aws-sdk/client-bedrock-runtime</c>) calling Airlock's Bedrock front door
/// (<c>/bedrock</c>) with the gateway key as a Bedrock API key (<c>AWS_BEARER_TOKEN_BEDROCK</c> → <c>Authorization: Bearer</c>),
/// in front of a Messages upstream: the client must decode Airlock's event stream, and Airlock's errors must surface as
/// the SDK's named exceptions.
/// </summary>
public sealed class AwsSdkClientBedrockDoorTests : IAsyncLifetime
{
    private const string Model = "anthropic.claude-sonnet-4-5-20250929-v1:0";
    private const string Body = """{"anthropic_version":"bedrock-2023-05-31","anthropic_beta":["interleaved-thinking-2025-05-14"],"max_tokens":64,"messages":[{"role":"user","content":"hello"}]}""";

    private GatewayHarness _harness = null!;

    public async Task InitializeAsync() => _harness = await GatewayHarness.StartAsync();

    public async Task DisposeAsync() => await _harness.DisposeAsync();

    private string DoorUrl => _harness.BaseUrl + "/bedrock";

    private Dictionary<string, string> GatewayKey(string? key = null) => new() { ["AWS_BEARER_TOKEN_BEDROCK"] = key ?? _harness.DeveloperKey };

    [Fact]
    public async Task Official_client_decodes_the_doors_event_stream()
    {
        _harness.Upstream.DefaultReply = UpstreamReply.Text("Hello through the Bedrock door, decoded by the AWS SDK.");
        var run = await AwsSdkClient.RunAsync(DoorUrl, Model, "stream", Body, GatewayKey());
        Assert.True(run.ExitCode == 0, run.Describe());
        var events = run.Events();
        Assert.Equal("message_start", events[0].GetProperty("type").GetString());
        Assert.Equal("message_stop", events[^1].GetProperty("type").GetString());
        var text = string.Concat(events.Where(e => e.GetProperty("type").GetString() == "content_block_delta")
            .Select(e => e.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal("Hello through the Bedrock door, decoded by the AWS SDK.", text);
        var upstreamBody = JsonDocument.Parse(Assert.Single(_harness.Upstream.Requests).Body.ToArray()).RootElement;
        Assert.True(upstreamBody.GetProperty("stream").GetBoolean());
    }

    [Fact]
    public async Task Official_client_reads_a_non_streaming_answer()
    {
        _harness.Upstream.DefaultReply = UpstreamReply.Text("One JSON answer.");
        var run = await AwsSdkClient.RunAsync(DoorUrl, Model, "invoke", Body, GatewayKey());
        Assert.True(run.ExitCode == 0, run.Describe());
        var body = run.Lines.Single(l => l.TryGetProperty("body", out _)).GetProperty("body");
        Assert.Equal("One JSON answer.", body.GetProperty("content")[0].GetProperty("text").GetString());
    }

    [Fact]
    public async Task Mid_stream_upstream_error_surfaces_as_a_named_sdk_exception()
    {
        _harness.Upstream.DefaultReply = UpstreamReply.ErrorEventMidStream(3, "overloaded_error", "Overloaded");
        var run = await AwsSdkClient.RunAsync(DoorUrl, Model, "stream", Body, GatewayKey());
        Assert.Equal(2, run.ExitCode);
        Assert.Equal("ServiceUnavailableException", run.Error!.Value.GetProperty("name").GetString());
        Assert.NotEmpty(run.Events());
    }

    [Fact]
    public async Task Unknown_gateway_key_is_an_aws_shaped_rejection()
    {
        var run = await AwsSdkClient.RunAsync(DoorUrl, Model, "stream", Body, GatewayKey("not-a-gateway-key"));
        Assert.Equal(2, run.ExitCode);
        var error = run.Error!.Value;
        Assert.EndsWith("Exception", error.GetProperty("name").GetString(), StringComparison.Ordinal);
        Assert.InRange(error.GetProperty("status").GetInt32(), 401, 403);
        Assert.Empty(_harness.Upstream.Requests);
    }
}
