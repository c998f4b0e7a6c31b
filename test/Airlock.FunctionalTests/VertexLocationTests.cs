using System.Net;
using System.Text;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Gateway.Upstreams;
using Airlock.Testing;

namespace Airlock.FunctionalTests;

/// <summary>
/// Issue 4, "regional, global and multi-region hosts" for Vertex. Claude Code sends <c>CLOUD_ML_REGION</c> as the location
/// (<c>global</c> is what Anthropic's Vertex documentation recommends), and data-residency deployments use the
/// <c>us</c>/<c>eu</c> multi-regions; each must pass the Vertex door, the allowed-regions check and the upstream's URL,
/// and each location has its own host.
/// </summary>
public sealed class VertexLocationTests(ITestOutputHelper output)
{
    /// <summary>
    /// Vertex hosts per location (Google Cloud "Use Claude on Vertex AI" and the Vertex locations page: <c>global</c> has
    /// no region prefix; the multi-regions are served at <c>aiplatform.{us|eu}.rep.googleapis.com</c>, as the Google Gen AI
    /// SDK's own tests address them).
    /// </summary>
    [Theory]
    [InlineData("global", "https://aiplatform.googleapis.com")]
    [InlineData("us", "https://aiplatform.us.rep.googleapis.com")]
    [InlineData("eu", "https://aiplatform.eu.rep.googleapis.com")]
    [InlineData("us-east5", "https://us-east5-aiplatform.googleapis.com")]
    [InlineData("europe-west1", "https://europe-west1-aiplatform.googleapis.com")]
    public void Each_location_has_its_vertex_host(string location, string host) =>
        Assert.Equal(host, VertexUpstreamAdapter.DefaultHost(location));

    [Theory]
    [InlineData("global")]
    [InlineData("us")]
    [InlineData("eu")]
    public async Task A_global_or_multi_region_location_passes_the_door_and_the_allowed_regions_to_the_upstream(string location)
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            AllowedRegions = [location],
            Upstreams = [c.Upstreams[0] with { Region = location }],
        });

        using var request = new HttpRequestMessage(HttpMethod.Post,
            $"/vertex/v1/projects/client-project/locations/{location}/publishers/anthropic/models/claude-opus-5-5:streamRawPredict")
        {
            Content = new StringContent("{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":16,\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                Encoding.UTF8, "application/json"),
        };
        GatewayHarness.AddClaudeCodeHeaders(request);
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        Assert.Contains("message_stop", text, StringComparison.Ordinal);
        var received = Assert.Single(harness.Upstream.VertexRequests);
        Assert.Equal($"/v1/projects/{harness.Upstream.GoogleAuth.ProjectId}/locations/{location}/publishers/anthropic/models/claude-opus-5-5:streamRawPredict", received.Path);

        // The Messages door reaches the same upstream location.
        using var messages = harness.Messages("{\"model\":\"claude-opus-5-5\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        using var messagesResponse = await harness.Client.SendAsync(messages);
        Assert.Equal(HttpStatusCode.OK, messagesResponse.StatusCode);
        Assert.Contains($"/locations/{location}/", harness.Upstream.VertexRequests[^1].Path, StringComparison.Ordinal);

        var records = await harness.AuditAsync(2);
        Assert.All(records, r => Assert.Equal(AuditOutcome.Ok, r.Outcome));
    }

    [Fact]
    public async Task A_regional_location_is_refused_when_only_global_is_allowed()
    {
        await using var harness = await GatewayHarness.StartAsync(output, upstreamKind: UpstreamKind.Vertex, configure: c => c with
        {
            AllowedRegions = ["global"],
            Upstreams = [c.Upstreams[0] with { Region = "global" }],
        });

        using var request = new HttpRequestMessage(HttpMethod.Post,
            "/vertex/v1/projects/client-project/locations/us-east5/publishers/anthropic/models/claude-opus-5-5:rawPredict")
        {
            Content = new StringContent("{\"anthropic_version\":\"vertex-2023-10-16\",\"max_tokens\":16,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                Encoding.UTF8, "application/json"),
        };
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer " + harness.DeveloperKey);
        using var response = await harness.Client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("\"PERMISSION_DENIED\"", text, StringComparison.Ordinal);
        Assert.Contains("us-east5", text, StringComparison.Ordinal);
        Assert.Empty(harness.Upstream.VertexRequests);
        var record = await harness.SingleAuditAsync();
        Assert.Equal("vertex", record.Door);
        Assert.NotEqual(AuditOutcome.Ok, record.Outcome);
    }
}
