using Airlock.Core.Configuration;

namespace Airlock.Tests.OpenAi;

/// <summary><c>kind: openai</c> in <c>airlock.yaml</c>.</summary>
public sealed class OpenAiUpstreamConfigTests
{
    private static readonly Dictionary<string, string?> NoEnvironment = [];

    [Fact]
    public void Reads_an_openai_upstream_with_its_model_map_and_credential_variable()
    {
        const string yaml = """
            level: 3
            upstreams:
              - name: onprem-openai
                kind: openai
                url: http://10.0.0.6:8000
                api_key_env: ONPREM_OPENAI_KEY
                max_output_tokens: 8192
                model_map:
                  - match: "claude-*"
                    model: "qwen3-coder-30b"
            routes:
              - models: ["*"]
                upstream: onprem-openai
            """;
        var config = ConfigLoader.Parse(yaml, "airlock.yaml", "/srv", NoEnvironment);

        var upstream = Assert.Single(config.Upstreams);
        Assert.Equal(UpstreamKind.OpenAi, upstream.Kind);
        Assert.Equal(new Uri("http://10.0.0.6:8000"), upstream.Url);
        Assert.Equal("ONPREM_OPENAI_KEY", upstream.ApiKeyEnv);
        Assert.Equal("qwen3-coder-30b", upstream.MapModel("claude-opus-5-5"));
        Assert.Equal(8192, upstream.MaxOutputTokens);
    }

    [Fact]
    public void An_openai_upstream_needs_a_url()
    {
        const string yaml = """
            upstreams:
              - name: onprem-openai
                kind: openai
            routes:
              - models: ["*"]
                upstream: onprem-openai
            """;
        var errors = Assert.Throws<ConfigurationException>(() => ConfigLoader.Parse(yaml, "airlock.yaml", "/srv", NoEnvironment)).Errors;
        Assert.Contains(errors, e => e.Contains("upstreams[0].url", StringComparison.Ordinal));
    }
}
