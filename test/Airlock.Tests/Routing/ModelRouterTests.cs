using Airlock.Core.Configuration;
using Airlock.Core.Routing;

namespace Airlock.Tests.Routing;

public sealed class ModelRouterTests
{
    private static AirlockConfig Config(params RouteConfig[] routes) => new()
    {
        Level = 1,
        DataDir = "/tmp/unused",
        Upstreams =
        [
            new UpstreamConfig { Name = "vendor", Kind = UpstreamKind.Anthropic, Url = new Uri("https://api.anthropic.com") },
            new UpstreamConfig { Name = "onprem", Kind = UpstreamKind.Messages, Url = new Uri("http://10.0.0.2:8000") },
        ],
        Routes = routes,
    };

    [Theory]
    [InlineData("*", "", true)]
    [InlineData("*", "anything at all", true)]
    [InlineData("claude-*", "claude-opus-5-5", true)]
    [InlineData("claude-*", "claude-", true)]
    [InlineData("claude-*", "xclaude-opus", false)]
    [InlineData("claude-*", "Claude-opus", false)]
    [InlineData("*-haiku-*", "claude-haiku-4-5", true)]
    [InlineData("*-haiku-*", "claude-haiku", false)]
    [InlineData("claude-?-5", "claude-4-5", true)]
    [InlineData("claude-?-5", "claude-45-5", false)]
    [InlineData("?", "", false)]
    [InlineData("", "", true)]
    [InlineData("", "a", false)]
    [InlineData("exact", "exact", true)]
    [InlineData("exact", "exactly", false)]
    [InlineData("*ab", "aab", true)]
    [InlineData("a*b*c", "abxbxc", true)]
    [InlineData("a*b*c", "abxbx", false)]
    [InlineData("**", "x", true)]
    [InlineData("a*", "a", true)]
    [InlineData("*a*a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false)]
    public void Glob_matches(string pattern, string text, bool expected)
    {
        Assert.Equal(expected, Glob.IsMatch(pattern, text));
    }

    [Fact]
    public void First_matching_route_in_file_order_wins()
    {
        var router = new ModelRouter(Config(
            new RouteConfig { Models = ["claude-haiku-*"], Upstream = "onprem" },
            new RouteConfig { Models = ["claude-*"], Upstream = "vendor" },
            new RouteConfig { Models = ["*"], Upstream = "onprem" }));

        Assert.Equal("onprem", router.Resolve("claude-haiku-4-5")?.Name);
        Assert.Equal("vendor", router.Resolve("claude-opus-5-5")?.Name);
        Assert.Equal("onprem", router.Resolve("qwen3-coder")?.Name);
    }

    [Fact]
    public void No_route_means_no_upstream()
    {
        var router = new ModelRouter(Config(new RouteConfig { Models = ["claude-opus-5-5", "claude-sonnet-*"], Upstream = "vendor" }));

        Assert.Null(router.Resolve("gpt-5"));
        Assert.Null(router.Resolve(""));
        Assert.Null(router.CatchAll());
    }

    [Fact]
    public void Literal_models_exclude_globs_and_keep_route_order()
    {
        var router = new ModelRouter(Config(
            new RouteConfig { Models = ["claude-opus-5-5", "claude-sonnet-*", "corp-?"], Upstream = "vendor" },
            new RouteConfig { Models = ["qwen3-coder"], Upstream = "onprem" }));

        Assert.Equal(
            [("claude-opus-5-5", "vendor"), ("qwen3-coder", "onprem")],
            router.LiteralModels().Select(m => (m.Model, m.Upstream.Name)));
    }

    [Fact]
    public void Catch_all_is_the_first_route_listing_a_bare_star()
    {
        var router = new ModelRouter(Config(
            new RouteConfig { Models = ["claude-*"], Upstream = "vendor" },
            new RouteConfig { Models = ["*"], Upstream = "onprem" }));

        Assert.Equal("onprem", router.CatchAll()?.Name);
    }

    [Fact]
    public void Route_to_an_unknown_upstream_is_refused()
    {
        Assert.Throws<ArgumentException>(() => new ModelRouter(Config(new RouteConfig { Models = ["*"], Upstream = "ghost" })));
    }
}
