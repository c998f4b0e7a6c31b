using Airlock.Core.Configuration;
using Airlock.Core.Egress;

namespace Airlock.Tests.Egress;

public sealed class EgressEvaluatorTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    private static AirlockConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "airlock.yaml", "/srv/airlock", NoEnvironment);

    private static IReadOnlyList<string> Errors(string yaml) => Assert.Throws<ConfigurationException>(() => Parse(yaml)).Errors;

    private static string Config(int level, string upstreams, string extra = "") => $"""
        level: {level}
        {extra}
        upstreams:
        {upstreams}
        routes:
          - models: "*"
            upstream: first
        """;

    [Fact]
    public void Level_1_refuses_an_anthropic_upstream_pointing_at_the_vendor()
    {
        var errors = Errors(Config(1, """
              - name: first
                kind: anthropic
                url: https://api.anthropic.com
            """));

        var error = Assert.Single(errors);
        Assert.Contains("upstreams[0] (first)", error, StringComparison.Ordinal);
        Assert.Contains("api.anthropic.com", error, StringComparison.Ordinal);
        Assert.Contains("kind: messages", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_1_accepts_on_premises_messages_servers_and_marks_them()
    {
        var config = Parse(Config(1, """
              - name: first
                kind: messages
                url: http://10.0.0.5:8000
            """));

        var kind = Assert.Single(EgressEvaluator.Evaluate(config).Checks, c => c.Id == "upstream.kind");
        Assert.Equal(CheckStatus.Pass, kind.Status);
        Assert.Contains("on-premises", kind.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Level_3_config_naming_cloud_upstreams_lists_every_violation()
    {
        var errors = Errors(Config(3, """
              - name: first
                kind: messages
                url: http://10.0.0.5:8000
              - name: bedrock
                kind: bedrock
                region: us-east-1
              - name: vertex
                kind: vertex
                region: us-east5
                project: p
              - name: vendor
                kind: anthropic
                url: https://api.anthropic.com
              - name: public-onprem
                kind: messages
                url: http://8.8.8.8:8000
            """));

        Assert.Contains(errors, e => e.StartsWith("upstreams[1] (bedrock)", StringComparison.Ordinal) && e.Contains("level 3 forbids", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("upstreams[2] (vertex)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("upstreams[3] (vendor)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("upstreams[4] (public-onprem)", StringComparison.Ordinal) && e.Contains("8.8.8.8 (public)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("level:", StringComparison.Ordinal) && e.Contains("cloud credentials", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Contains("upstreams[0]", StringComparison.Ordinal));
    }

    [Fact]
    public void Level_2_requires_TLS_to_cloud_upstreams_and_a_private_proxy()
    {
        var errors = Errors(Config(2, """
              - name: first
                kind: bedrock
                region: us-east-1
                url: http://10.0.0.9
            """, """
        egress:
          proxy: http://203.0.113.7:3128
        """));

        Assert.Contains(errors, e => e.StartsWith("upstreams[0] (first)", StringComparison.Ordinal) && e.Contains("not TLS", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.StartsWith("egress.proxy", StringComparison.Ordinal) && e.Contains("203.0.113.7 (public)", StringComparison.Ordinal));
    }

    [Fact]
    public void Level_2_refuses_loopback_unless_allowed()
    {
        const string Upstream = """
              - name: first
                kind: messages
                url: http://127.0.0.1:8000
            """;
        Assert.Contains(Errors(Config(2, Upstream)), e => e.Contains("127.0.0.1 (loopback)", StringComparison.Ordinal));

        var config = Parse(Config(2, Upstream, "egress:\n  allow_loopback: true"));
        var report = EgressEvaluator.Evaluate(config);
        Assert.True(report.Passed);
        Assert.Contains(report.Checks, c => c.Id == "egress.loopback" && c.Status == CheckStatus.Unknown);
    }

    [Fact]
    public void Region_outside_the_upstreams_allowed_regions_is_refused()
    {
        var errors = Errors(Config(1, """
              - name: first
                kind: bedrock
                region: us-east-1
                allowed_regions: [eu-central-1, eu]
                model_map:
                  - match: "claude-sonnet-*"
                    model: global.anthropic.claude-sonnet-4-5-20250929-v1:0
            """));

        Assert.Contains(errors, e => e.Contains("region 'us-east-1' is not in allowed_regions (eu-central-1, eu)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("cross-region inference profile", StringComparison.Ordinal) && e.Contains("'global'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Level_2_resolves_names_and_refuses_one_that_is_also_public()
    {
        var config = new AirlockConfig
        {
            Level = 2,
            DataDir = "/tmp/x",
            Upstreams =
            [
                new UpstreamConfig { Name = "vpce", Kind = UpstreamKind.Bedrock, Region = "us-east-1",
                    Url = new Uri("https://vpce-0a1b-c2d3.bedrock-runtime.us-east-1.vpce.amazonaws.com") },
                new UpstreamConfig { Name = "dual", Kind = UpstreamKind.Messages, Url = new Uri("http://llm.corp.example:8000") },
                new UpstreamConfig { Name = "gone", Kind = UpstreamKind.Messages, Url = new Uri("http://nowhere.corp.example") },
            ],
            Routes = [new RouteConfig { Models = ["*"], Upstream = "vpce" }],
        };
        var resolver = new StubResolver(new()
        {
            ["vpce-0a1b-c2d3.bedrock-runtime.us-east-1.vpce.amazonaws.com"] = ["10.0.1.17", "10.0.2.17"],
            ["llm.corp.example"] = ["10.0.0.5", "::ffff:34.1.2.3"],
        });

        var report = await EgressEvaluator.EvaluateAsync(config, resolver, CancellationToken.None);

        var addresses = report.Checks.Where(c => c.Id == "upstream.addresses").ToDictionary(c => c.Upstream!);
        Assert.Equal(CheckStatus.Pass, addresses["vpce"].Status);
        Assert.Contains("10.0.1.17 (private RFC 1918)", addresses["vpce"].Evidence, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Fail, addresses["dual"].Status);
        Assert.Contains("::ffff:34.1.2.3 (public)", addresses["dual"].Evidence, StringComparison.Ordinal);
        Assert.Equal(CheckStatus.Unknown, addresses["gone"].Status);
        Assert.False(report.Passed);
        var violation = Assert.Single(EgressEvaluator.Violations(config, report));
        Assert.StartsWith("upstreams[1] (dual)", violation, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Level_3_on_premises_report_passes_with_evidence()
    {
        var config = Parse(Config(3, """
              - name: first
                kind: messages
                url: http://ollama.lan:11434
            """));

        var report = await EgressEvaluator.EvaluateAsync(config, new StubResolver(new() { ["ollama.lan"] = ["192.168.1.20"] }), CancellationToken.None);

        Assert.True(report.Passed);
        Assert.Equal(3, report.Level);
        Assert.Contains(report.Checks, c => c.Id == "credentials.cloud" && c.Status == CheckStatus.Pass);
        Assert.Contains(report.Checks, c => c.Id == "upstream.addresses" && c.Evidence.Contains("192.168.1.20", StringComparison.Ordinal));
    }

    [Fact]
    public void Quickstart_with_a_vendor_key_declares_no_level_and_its_report_fails()
    {
        var config = ConfigLoader.CreateQuickstart("data", name => name == "ANTHROPIC_API_KEY" ? "sk-test" : null);

        Assert.Equal(0, config.Level);
        Assert.False(EgressEvaluator.Evaluate(config).Passed);
    }
}
