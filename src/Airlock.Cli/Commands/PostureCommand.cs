using System.CommandLine;
using Airlock.Core.Audit;
using Airlock.Core.Configuration;
using Airlock.Core.Egress;
using Airlock.Core.Posture;
using Airlock.Gateway.Audit;
using Airlock.Gateway.Inspection;

namespace Airlock.Cli.Commands;

/// <summary>
/// <c>airlock posture</c>: the evidence a CISO hands to audit, computed from the configuration and live checks (egress checks with
/// name resolution, audit store and chain, rule packs). Exit 0 when nothing fails, 1 when a check fails (a pipeline gate),
/// 2 when the configuration cannot be read.
/// </summary>
internal static class PostureCommand
{
    public static Command Create()
    {
        var format = new Option<string>("--format") { Description = "md (default), html or json", DefaultValueFactory = _ => "md" };
        format.AcceptOnlyFromAmong("md", "html", "json");
        var output = new Option<string>("--out") { Description = "Write the report to this file instead of standard output" };
        var offline = new Option<bool>("--offline") { Description = "No name resolution and no live probes: only what the file decides (the rest is unknown)" };
        var command = new Command("posture", "Report this deployment's data-egress posture with evidence (exit 1 when a check fails)") { format, output, offline };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            var isOffline = parse.GetValue(offline);
            var egress = isOffline
                ? EgressEvaluator.Evaluate(config)
                : await EgressEvaluator.EvaluateAsync(config, DnsHostResolver.Instance, cancellationToken).ConfigureAwait(false);
            var report = PostureBuilder.Build(config, new PostureInputs
            {
                EgressChecks = PostureEgress.From(egress),
                Audit = isOffline ? null : await ProbeAuditAsync(config, cancellationToken).ConfigureAwait(false),
                Rules = isOffline ? null : ProbeRules(config),
                GeneratedAt = TimeProvider.System.GetUtcNow(),
                Offline = isOffline,
                GetEnvironment = Environment.GetEnvironmentVariable,
            });
            var text = PostureRenderer.Render(report, parse.GetValue(format) switch
            {
                "html" => PostureFormat.Html,
                "json" => PostureFormat.Json,
                _ => PostureFormat.Markdown,
            });
            if (parse.GetValue(output) is { } path)
            {
                await File.WriteAllTextAsync(path, text, cancellationToken).ConfigureAwait(false);
                var (pass, fail, unknown) = report.Totals;
                await Console.Error.WriteLineAsync($"posture: wrote {path}: {pass} pass, {fail} fail, {unknown} unknown").ConfigureAwait(false);
            }
            else
            {
                await Console.Out.WriteAsync(text).ConfigureAwait(false);
            }
            return report.Passed ? 0 : 1;
        }));
        return command;
    }

    private static async Task<AuditProbe> ProbeAuditAsync(AirlockConfig config, CancellationToken cancellationToken)
    {
        var description = config.Audit.Store == AuditStoreKind.Postgres
            ? $"postgres (connection string from ${config.Audit.PostgresConnectionStringEnv})"
            : $"sqlite in {config.DataDir}";
        try
        {
            await using var store = await AuditStores.OpenAsync(config, cancellationToken).ConfigureAwait(false);
            using var key = store.LoadSigningKey();
            var result = await AuditChainVerifier.VerifyStoreAsync(store.Store, key?.PublicKey, cancellationToken).ConfigureAwait(false);
            var evidence = result.Intact
                ? $"{result.Records} records (sequence {result.FirstSequence}–{result.LastSequence}), {result.Checkpoints} checkpoints, "
                    + (key is null ? "no signing key found: signatures not checked" : $"signatures checked with key {key.PublicKey.KeyId}")
                : $"chain broken: {result.Fault}";
            return new AuditProbe(description, true, result.Intact, evidence);
        }
        catch (Exception ex) when (ex is ConfigurationException or IOException or UnauthorizedAccessException or InvalidOperationException
            or System.Data.Common.DbException or TimeoutException)
        {
            // The message names the variable or path, never a connection string's value.
            return new AuditProbe(description, false, false, ex is ConfigurationException config1 ? string.Join("; ", config1.Errors) : ex.GetType().Name + ": " + ex.Message);
        }
    }

    private static RulesProbe? ProbeRules(AirlockConfig config)
    {
        try
        {
            var runtime = InspectionRuntime.Create(config.Inspection, System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
            return runtime is null
                ? null
                : new RulesProbe(true, runtime.RulesVersion, runtime.RuleCount,
                    (config.Inspection.BuiltInRules ? "built-in pack" : "no built-in pack") + (config.Inspection.RulePacks.Count > 0 ? $" + {config.Inspection.RulePacks.Count} organization pack(s)" : "")
                    + (runtime.Warnings.Count > 0 ? $"; warnings: {string.Join("; ", runtime.Warnings)}" : ""));
        }
        catch (ConfigurationException ex)
        {
            return new RulesProbe(false, null, 0, string.Join("; ", ex.Errors));
        }
    }
}
