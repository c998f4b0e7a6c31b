using Airlock.Core.Configuration;
using Airlock.Core.Routing;

namespace Airlock.Tests.Egress;

public sealed class EgressConfigTests
{
    private static AirlockConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "airlock.yaml", "/srv/airlock", new Dictionary<string, string?>());

    [Fact]
    public void Reads_egress_overrides_circuit_breakers_and_upstream_regions()
    {
        var config = Parse("""
            level: 2
            egress:
              allow_loopback: true
              proxy: http://10.0.0.3:3128
            model_overrides:
              - match: "claude-sonnet-4-5*"
                model: qwen3-coder-30b
              - match: "claude-*"
                model: qwen3-4b
            upstreams:
              - name: bedrock
                kind: bedrock
                region: eu-central-1
                url: https://vpce-0a1b-c2d3.bedrock-runtime.eu-central-1.vpce.amazonaws.com
                allowed_regions: [eu-central-1]
                circuit_breaker:
                  consecutive_failures: 3
                  failure_ratio_percent: 40
                  minimum_calls: 10
                  window: 1m
                  break_duration: 45s
              - name: local
                kind: messages
                url: http://127.0.0.1:11434
                circuit_breaker:
                  enabled: false
            routes:
              - models: ["qwen3-*"]
                upstream: [local, bedrock]
            """);

        Assert.True(config.Egress.AllowLoopback);
        Assert.Equal(new Uri("http://10.0.0.3:3128"), config.Egress.Proxy);
        var bedrock = config.Upstreams[0];
        Assert.Equal(["eu-central-1"], bedrock.AllowedRegions);
        Assert.Equal(3, bedrock.CircuitBreaker.ConsecutiveFailures);
        Assert.Equal(0.4, bedrock.CircuitBreaker.FailureRatio, 3);
        Assert.Equal(10, bedrock.CircuitBreaker.MinimumCalls);
        Assert.Equal(TimeSpan.FromMinutes(1), bedrock.CircuitBreaker.Window);
        Assert.Equal(TimeSpan.FromSeconds(45), bedrock.CircuitBreaker.BreakDuration);
        Assert.False(config.Upstreams[1].CircuitBreaker.Enabled);

        var router = new ModelRouter(config);
        Assert.Equal("qwen3-coder-30b", router.Override("claude-sonnet-4-5-20250929"));
        Assert.Equal("qwen3-4b", router.Override("claude-opus-4-1-20250805"));
        Assert.Equal("qwen3-4b", router.Override("claude-haiku-4-5"));
        Assert.Equal("gpt-oss", router.Override("gpt-oss"));
        Assert.Equal(["local", "bedrock"], router.ResolveAll(router.Override("claude-opus-4-1")).Select(u => u.Name));
    }

    [Fact]
    public void Bad_egress_and_breaker_values_are_listed_with_their_paths()
    {
        var errors = Assert.Throws<ConfigurationException>(() => Parse("""
            level: 2
            egress:
              allow_loopback: maybe
              proxy: socks5://10.0.0.3
            upstreams:
              - name: local
                kind: messages
                url: http://10.0.0.9:8000
                circuit_breaker:
                  consecutive_failures: 0
                  failure_ratio_percent: 150
            model_overrides:
              - match: "claude-*"
            routes:
              - models: "*"
                upstream: local
            """)).Errors;

        Assert.Contains(errors, e => e.Contains("egress.allow_loopback: must be true or false", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("egress.proxy: must be an absolute http:// or https:// URL", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("upstreams[0].circuit_breaker.consecutive_failures", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("upstreams[0].circuit_breaker.failure_ratio_percent", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("model_overrides[0].model: is required", StringComparison.Ordinal));
    }
}
