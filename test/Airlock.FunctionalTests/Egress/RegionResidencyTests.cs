using System.Net;
using System.Text;
using System.Text.Json;
using Airlock.Core.Configuration;
using Airlock.FunctionalTests.Infrastructure;
using Airlock.Testing;

namespace Airlock.FunctionalTests.Egress;

/// <summary>
/// Data residency per request and egress refusals in each door's own error shape: a Bedrock model id that would be
/// processed outside <c>allowed_regions</c> never reaches Bedrock; a refused connection on the Bedrock door is an
/// AWS-shaped error.
/// </summary>
public sealed class RegionResidencyTests(ITestOutputHelper output)
{
    private const string BedrockBody =
        "{\"anthropic_version\":\"bedrock-2023-05-31\",\"max_tokens\":64,\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}";

    private static HttpRequestMessage BedrockDoor(GatewayHarness harness, string model)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(harness.GatewayUri, "/bedrock/model/" + model + "/invoke"))
        {
            Content = new StringContent(BedrockBody, Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        return request;
    }

    [Fact]
    public async Task A_cross_region_profile_outside_the_upstreams_allowed_regions_is_refused_before_Bedrock_sees_it()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { AllowedRegions = [ScriptedUpstream.BedrockRegion] }],
        });

        using var request = harness.Messages(RequestBodies.NonStreaming("global.anthropic.claude-sonnet-4-5-20250929-v1:0"));
        using var response = await harness.Client.SendAsync(request);

        var message = await ErrorAssert.IsAnthropicErrorAsync(response, HttpStatusCode.Forbidden, "permission_error");
        Assert.Contains("cross-region inference profile", message, StringComparison.Ordinal);
        Assert.Contains("'global'", message, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.Bedrock.Calls);
        Assert.Equal("region_refused", (await harness.SingleAuditAsync()).ErrorType);
    }

    [Fact]
    public async Task An_in_region_model_id_passes()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Bedrock, configure: c => c with
        {
            Upstreams = [c.Upstreams[0] with { AllowedRegions = [ScriptedUpstream.BedrockRegion, "us"] }],
        });
        harness.Upstream.Bedrock.Enqueue(UpstreamReply.Text("in region"));

        using var request = harness.Messages(RequestBodies.NonStreaming("us.anthropic.claude-sonnet-4-5-20250929-v1:0"));
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(harness.Upstream.Bedrock.Calls);
    }

    [Fact]
    public async Task An_egress_refusal_on_the_Bedrock_door_is_an_AWS_shaped_access_denied()
    {
        var resolver = new SwitchableResolver().Set("onprem.corp.test", "127.0.0.1");
        await using var harness = await GatewayHarness.StartAsync(output,
            configure: c => c with
            {
                Upstreams = [c.Upstreams[0] with { Url = new Uri($"http://onprem.corp.test:{c.Upstreams[0].Url!.Port}") }],
            },
            upstreamOptions: new ScriptedUpstreamOptions { AcceptBearerToken = true }, upstreamKind: UpstreamKind.Messages, hostResolver: resolver);
        resolver.Set("onprem.corp.test", "169.254.169.254");

        using var request = BedrockDoor(harness, "claude-sonnet-4-5");
        using var response = await harness.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("AccessDeniedException", response.Headers.GetValues("x-amzn-ErrorType").Single().Split(':')[0]);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("cloud metadata service", document.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.MessagesRequests);
        Assert.Equal("egress_refused", (await harness.SingleAuditAsync()).ErrorType);
    }
}
