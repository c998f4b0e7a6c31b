using Airlock.Core.Configuration;
using Airlock.Core.Routing;

namespace Airlock.Tests.Configuration;

/// <summary>Bedrock and Vertex upstreams, model maps, ordered route upstreams, retries, allowed regions and beta rules.</summary>
public sealed class CloudUpstreamConfigTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private const string Yaml = """
        level: 1
        allowed_regions: [us-east-1, us-east5, global, us]
        upstreams:
          - name: bedrock-us
            kind: bedrock
            region: us-east-1
            url: https://vpce-0abc-1234.bedrock-runtime.us-east-1.vpce.amazonaws.com
            retries: 2
            retry_backoff: 100ms
            model_map:
              - match: "claude-opus-*"
                model: "us.anthropic.claude-opus-5-5-v1:0"
          - name: vertex
            kind: vertex
            region: global
            project: corp-ai
        routes:
          - models: ["claude-*"]
            upstream: [bedrock-us, vertex]
        betas:
          - kind: bedrock
            beta: "context-management-*"
            action: drop
            fields: [context_management]
        """;

    [Fact]
    public void Reads_cloud_upstreams_routes_and_beta_rules()
    {
        var config = ConfigLoader.Parse(Yaml, "airlock.yaml", "/srv", NoEnvironment);

        var bedrock = config.Upstreams[0];
        Assert.Equal(UpstreamKind.Bedrock, bedrock.Kind);
        Assert.Equal("us-east-1", bedrock.Region);
        Assert.Equal(2, bedrock.Retries);
        Assert.Equal(TimeSpan.FromMilliseconds(100), bedrock.RetryBackoff);
        Assert.Equal("us.anthropic.claude-opus-5-5-v1:0", bedrock.MapModel("claude-opus-5-5"));
        Assert.Equal("claude-haiku-4-5", bedrock.MapModel("claude-haiku-4-5"));
        var vertex = config.Upstreams[1];
        Assert.Equal(UpstreamKind.Vertex, vertex.Kind);
        Assert.Null(vertex.Url);
        Assert.Equal("corp-ai", vertex.Project);
        Assert.Equal("bedrock-us", config.Routes[0].Upstream);
        Assert.Equal(["vertex"], config.Routes[0].Fallbacks);
        Assert.Equal(["bedrock-us", "vertex"], new ModelRouter(config).ResolveAll("claude-opus-5-5").Select(u => u.Name));
        var rule = Assert.Single(config.Betas);
        Assert.Equal(UpstreamKind.Bedrock, rule.Kind);
        Assert.Equal("drop", rule.Action);
        Assert.Equal(["context_management"], rule.Fields);
    }

    [Fact]
    public void Lists_every_cloud_problem()
    {
        const string yaml = """
            level: 1
            allowed_regions: [eu-west-1]
            upstreams:
              - name: b
                kind: bedrock
              - name: v
                kind: vertex
                region: us-east5
            routes:
              - models: "*"
                upstream: [b, missing]
            """;
        var errors = Assert.Throws<ConfigurationException>(() => ConfigLoader.Parse(yaml, "airlock.yaml", "/srv", NoEnvironment)).Errors;

        Assert.Contains(errors, e => e.Contains("upstreams[0].region: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("upstreams[1].project: is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("region 'us-east5' is not in allowed_regions", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("no upstream named 'missing'", StringComparison.Ordinal));
    }
}
