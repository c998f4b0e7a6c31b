using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Core.Posture;
using Microsoft.Playwright;

namespace Airlock.EndToEndTests.Posture;

/// <summary>
/// The HTML posture report rendered by a real headless Chromium (Debian's, driven by Playwright): the hand-built SVG diagram is
/// visible with one node per upstream, nothing is fetched from the network, and a screenshot is kept as a test artifact
/// (<c>artifacts/posture-report.png</c> under the test output folder). <c>scripts/test.sh</c> installs Chromium when it is missing.
/// </summary>
public sealed class PostureHtmlChromiumTests
{
    private const string ChromiumPath = "/usr/bin/chromium";

    private const string Yaml = """
        level: 2
        allowed_regions: [us-east-1, us]
        upstreams:
          - name: bedrock-us
            kind: bedrock
            region: us-east-1
            url: https://vpce-0a1b2c3d4e5f60718-abcdefgh.bedrock-runtime.us-east-1.vpce.amazonaws.com
            model_map:
              - match: "claude-*"
                model: "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
          - name: local-vllm
            kind: messages
            url: http://10.0.0.12:8000
          - name: local-llama
            kind: messages
            url: http://10.0.0.13:8080
        routes:
          - models: ["qwen-*"]
            upstream: [local-vllm, local-llama]
          - models: ["claude-*"]
            upstream: bedrock-us
        claude_code:
          allowed_mcp_servers: [github]
        """;

    [Fact]
    public async Task Chromium_shows_the_svg_diagram_with_every_upstream_and_fetches_nothing()
    {
        Assert.True(File.Exists(ChromiumPath), $"{ChromiumPath} is missing: scripts/test.sh installs the Debian package chromium");
        var repository = Directory.CreateTempSubdirectory("airlock-posture-");
        Directory.CreateDirectory(Path.Combine(repository.FullName, ".git"));
        var configPath = Path.Combine(repository.FullName, "airlock.yaml");
        await File.WriteAllTextAsync(configPath, Yaml);
        var config = ConfigLoader.Parse(Yaml, configPath, repository.FullName, new Dictionary<string, string?>());
        var report = PostureBuilder.Build(config, new PostureInputs
        {
            EgressChecks = PostureEgress.From(EgressEvaluator.Evaluate(config)),
            Audit = new AuditProbe("sqlite in /srv", true, true, "3 records (sequence 1–3), 1 checkpoints"),
            Rules = new RulesProbe(true, "v1", 200, "built-in pack"),
            GeneratedAt = TimeProvider.System.GetUtcNow(),
        });
        var artifacts = Directory.CreateDirectory(Path.Combine(AppContext.BaseDirectory, "artifacts"));
        var htmlPath = Path.Combine(artifacts.FullName, "posture-report.html");
        await File.WriteAllTextAsync(htmlPath, PostureRenderer.Html(report));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
            Timeout = 120_000,
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        var requests = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);
        await page.GotoAsync(new Uri(htmlPath).AbsoluteUri, new PageGotoOptions { Timeout = 120_000 });

        var svg = page.Locator("svg#data-flow");
        Assert.True(await svg.IsVisibleAsync());
        var box = await svg.BoundingBoxAsync();
        Assert.NotNull(box);
        Assert.True(box.Width > 900 && box.Height > 250, $"diagram box {box.Width}x{box.Height}");
        foreach (var upstream in config.Upstreams)
        {
            var node = page.Locator($"svg#data-flow g[data-upstream=\"{upstream.Name}\"]");
            Assert.Equal(1, await node.CountAsync());
            Assert.True(await node.IsVisibleAsync(), $"{upstream.Name} node not visible");
            Assert.Contains(upstream.Name, await node.TextContentAsync(), StringComparison.Ordinal);
        }
        Assert.Equal("Level 2 (this deployment)", await page.Locator("#matrix th.declared").TextContentAsync());
        Assert.Equal("PASSED", (await page.Locator("#result").TextContentAsync())![..6]);
        Assert.All(requests, url => Assert.StartsWith("file://", url, StringComparison.Ordinal));

        var screenshot = Path.Combine(artifacts.FullName, "posture-report.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true, Timeout = 120_000 });
        Assert.True(new FileInfo(screenshot).Length > 10_000, "screenshot too small to show the report");
    }
}
