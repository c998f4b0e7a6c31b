using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Gateway.Upstreams;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>The built-in simulated model (quickstart without any credential) says what it is and is accounted like a real one.</summary>
public sealed class SimulatedUpstreamTests(ITestOutputHelper output)
{
    private static Task<GatewayHarness> StartSimulatedAsync(ITestOutputHelper output) =>
        GatewayHarness.StartAsync(output, c => c with
        {
            Upstreams = [new UpstreamConfig { Name = "simulated", Kind = UpstreamKind.Simulated }],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "simulated" }],
        });

    [Fact]
    public async Task Streamed_answer_says_it_is_simulated_and_tokens_are_recorded()
    {
        await using var harness = await StartSimulatedAsync(output);
        var body = Encoding.UTF8.GetBytes(RequestBodies.Streaming());

        using var request = harness.Messages(body);
        using var response = await harness.SendStreamingAsync(request);
        var events = await SseStreamReader.ReadAllAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("message_start", events[0].Name);
        Assert.Contains(events, e => e.Name == "ping");
        Assert.Equal("message_stop", events[^1].Name);
        var text = string.Concat(events
            .Where(e => e.Name == "content_block_delta")
            .Select(e => JsonDocument.Parse(e.Data).RootElement.GetProperty("delta").GetProperty("text").GetString()));
        Assert.Equal(SimulatedModelHandler.AnswerText, text);
        Assert.StartsWith("[Airlock simulated model]", text, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Requests);

        var record = await harness.SingleAuditAsync();
        Assert.Equal(AuditOutcome.Ok, record.Outcome);
        Assert.Equal("simulated", record.Upstream);
        Assert.Equal(body.Length / 4, record.InputTokens);
        Assert.Equal(SimulatedModelHandler.AnswerText.Split(' ').Length, record.OutputTokens);
        Assert.StartsWith("req_simulated_", record.UpstreamRequestId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Non_streamed_answer_and_model_list_say_they_are_simulated()
    {
        await using var harness = await StartSimulatedAsync(output);

        using var request = harness.Messages(RequestBodies.NonStreaming());
        using var response = await harness.Client.SendAsync(request);
        using var message = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        using var models = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        models.Headers.TryAddWithoutValidation("x-api-key", harness.DeveloperKey);
        using var modelsResponse = await harness.Client.SendAsync(models);
        using var list = JsonDocument.Parse(await modelsResponse.Content.ReadAsStringAsync());

        Assert.Equal(SimulatedModelHandler.AnswerText, message.RootElement.GetProperty("content")[0].GetProperty("text").GetString());
        var model = Assert.Single(list.RootElement.GetProperty("data").EnumerateArray());
        Assert.Equal(SimulatedModelHandler.ModelId, model.GetProperty("id").GetString());
        Assert.Contains("not a real model", model.GetProperty("display_name").GetString(), StringComparison.Ordinal);
        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
        Assert.Equal(SimulatedModelHandler.AnswerText.Split(' ').Length, records.Single(r => r.Operation == "messages").OutputTokens);
    }
}
