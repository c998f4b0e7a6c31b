using System.CommandLine;
using Airlock.Core.Configuration;
using Airlock.Core.Identity;
using Airlock.Gateway.Hosting;

namespace Airlock.Cli.Commands;

/// <summary><c>airlock serve</c>: run the gateway.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var urls = new Option<string>("--urls") { Description = "Listen URL(s), e.g. http://127.0.0.1:8080 (overrides server.urls)" };
        var command = new Command("serve", "Run the gateway. With no airlock.yaml, starts with quickstart defaults and prints a first key.");
        command.Options.Add(urls);
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            var firstRun = !File.Exists(Path.Combine(config.DataDir, "airlock.db"));
            var gateway = await AirlockGateway.StartAsync(config, new GatewayStartOptions { Urls = parse.GetValue(urls) }, cancellationToken);
            try
            {
                await ServeAsync(gateway, config, firstRun, cancellationToken);
            }
            finally
            {
                await gateway.DisposeAsync();
            }
            // Audit records that neither reached the store nor the spool within audit.shutdown_timeout (logged by
            // count and request id): the exit code says so, for the service manager and the operator.
            return gateway.Audit.LostOnShutdown > 0 ? AuditRecordsLostExitCode : 0;
        }));
        return command;
    }

    /// <summary>Exit code of <c>airlock serve</c> when audit records were lost at shutdown.</summary>
    internal const int AuditRecordsLostExitCode = 3;

    private static async Task ServeAsync(AirlockGateway gateway, AirlockConfig config, bool firstRun, CancellationToken cancellationToken)
    {
        var bound = gateway.Addresses;
        var address = bound.Count > 0 ? bound[0].ToString().TrimEnd('/') : config.Urls;
        PrintBanner(config, address);
        if (gateway.Inspection is { } inspection)
        {
            Console.WriteLine($"  inspection: {inspection.RuleCount} secret rules (pack {inspection.RulesVersion}), on_error={(config.Inspection.FailClosed ? "block" : "pass")}");
            foreach (var warning in inspection.Warnings)
            {
                Console.WriteLine($"  rule pack warning: {warning}");
            }
        }
        else
        {
            Console.WriteLine("  inspection: DISABLED (inspection.enabled: false)");
        }
        if (firstRun || (await gateway.Store.ListKeysAsync(cancellationToken)).Count == 0)
        {
            await PrintFirstKeysAsync(gateway, address, cancellationToken);
        }
        await gateway.WaitForShutdownAsync(cancellationToken);
    }

    private static void PrintBanner(AirlockConfig config, string address)
    {
        Console.WriteLine($"Airlock gateway listening on {address}");
        Console.WriteLine($"  configuration: {config.Source}");
        Console.WriteLine(config.Level is >= 1 and <= 3
            ? $"  data-egress level: {config.Level}"
            : "  data-egress level: none declared (a trial: ANTHROPIC_API_KEY goes straight to the Anthropic API; 'airlock posture' reports FAILED until an airlock.yaml declares level 1, 2 or 3)");
        Console.WriteLine($"  data directory: {config.DataDir}");
        foreach (var upstream in config.Upstreams)
        {
            Console.WriteLine(upstream.Kind == UpstreamKind.Simulated
                ? $"  upstream '{upstream.Name}': SIMULATED MODEL built into Airlock; answers are NOT from a real model (set ANTHROPIC_API_KEY or AIRLOCK_UPSTREAM_URL for a real one)"
                : $"  upstream '{upstream.Name}': {upstream.Kind.ToString().ToLowerInvariant()} at {upstream.Url}");
        }
    }

    private static async Task PrintFirstKeysAsync(AirlockGateway gateway, string address, CancellationToken cancellationToken)
    {
        var issuer = new KeyIssuer(gateway.Store, TimeProvider.System);
        var (admin, _) = await issuer.IssueAsync("admin", null, KeyRole.Admin, null, "created on first run", cancellationToken);
        var (developer, record) = await issuer.IssueAsync("developer", null, KeyRole.Developer, TimeSpan.FromDays(90), "created on first run", cancellationToken);
        Console.WriteLine();
        Console.WriteLine("First run: keys created. They are shown ONCE and stored only as hashes.");
        Console.WriteLine($"  admin token:            {admin}");
        Console.WriteLine($"  developer key ({record.Id}, user 'developer', expires in 90 days): {developer}");
        Console.WriteLine();
        Console.WriteLine("Point Claude Code at Airlock:");
        Console.WriteLine($"  export ANTHROPIC_BASE_URL={address}");
        Console.WriteLine($"  export ANTHROPIC_API_KEY={developer}");
        Console.WriteLine("  export CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1");
        Console.WriteLine("  claude");
        Console.WriteLine();
        Console.WriteLine("More developer keys: ./airlock keys create --user NAME [--team TEAM] [--expires 90d]");
        Console.WriteLine("What went through:   ./airlock audit list");
        Console.WriteLine();
    }
}
