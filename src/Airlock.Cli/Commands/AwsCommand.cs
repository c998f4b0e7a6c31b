using System.CommandLine;
using Airlock.Core.Aws.Policies;

namespace Airlock.Cli.Commands;

/// <summary>
/// <c>airlock aws policy</c> writes the AWS policies that enforce this configuration's Bedrock routes (gateway role, VPC endpoint,
/// organization SCP); <c>airlock aws lint FILE…</c> finds over-broad statements in policies. Exit codes: policy 0 written,
/// 2 configuration cannot yield a correct policy; lint 0 clean, 1 findings, 2 malformed file.
/// </summary>
internal static class AwsCommand
{
    public static Command Create()
    {
        var command = new Command("aws", "AWS policies for the Bedrock routes: generate them, lint them");
        command.Subcommands.Add(CreatePolicy());
        command.Subcommands.Add(CreateLint());
        return command;
    }

    private static Command CreatePolicy()
    {
        var output = new Option<string>("--out") { Description = "Write the three policies into this folder (default: print them)" };
        var account = new Option<string>("--account-id") { Description = "AWS account of the gateway (inference-profile ARNs; default ${aws:PrincipalAccount})" };
        var role = new Option<string>("--role-arn") { Description = "The gateway's IAM role: the only principal the VPC endpoint policy admits" };
        var vpce = new Option<string[]>("--vpce-id") { Description = "Bedrock Runtime VPC endpoint id(s), when the upstream URLs do not name them (private DNS)", AllowMultipleArgumentsPerToken = true };
        var models = new Option<string[]>("--model") { Description = "Extra Bedrock model ids or ARNs to allow (e.g. the models behind an application inference profile)", AllowMultipleArgumentsPerToken = true };
        var geos = new Option<string[]>("--geo") { Description = "Destination regions of a cross-Region profile geography: PREFIX=REGION,REGION (replaces the shipped list)", AllowMultipleArgumentsPerToken = true };
        var command = new Command("policy", "Generate the gateway role policy, the VPC endpoint policy and the SCP from the Bedrock upstreams")
        {
            output, account, role, vpce, models, geos,
        };
        command.SetAction((parse, cancellationToken) => CommonOptions.RunAsync(async () =>
        {
            var config = CommonOptions.Load(parse);
            var geographies = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var geo in parse.GetValue(geos) ?? [])
            {
                var equals = geo.IndexOf('=', StringComparison.Ordinal);
                if (equals <= 0 || equals == geo.Length - 1)
                {
                    await Console.Error.WriteLineAsync($"airlock aws policy: --geo '{geo}' is not PREFIX=REGION,REGION").ConfigureAwait(false);
                    return 2;
                }
                geographies[geo[..equals]] = geo[(equals + 1)..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            }
            BedrockPolicySet set;
            try
            {
                set = BedrockPolicyGenerator.Generate(config, new BedrockPolicyOptions
                {
                    RoleArn = parse.GetValue(role),
                    VpcEndpointIds = parse.GetValue(vpce) ?? [],
                    Targets = new BedrockTargetOptions { AccountId = parse.GetValue(account), ExtraModels = parse.GetValue(models) ?? [], Geographies = geographies },
                });
            }
            catch (BedrockPolicyException ex)
            {
                await Console.Error.WriteLineAsync($"airlock aws policy: no policy written:{Environment.NewLine}{ex.Message}").ConfigureAwait(false);
                return 2;
            }
            var files = new List<(string Name, string Json)>
            {
                (BedrockPolicySet.RolePolicyFile, BedrockPolicySet.ToJson(set.RolePolicy)),
                (BedrockPolicySet.EndpointPolicyFile, BedrockPolicySet.ToJson(set.EndpointPolicy)),
            };
            if (set.ServiceControlPolicy is not null)
            {
                files.Add((BedrockPolicySet.ServiceControlPolicyFile, BedrockPolicySet.ToJson(set.ServiceControlPolicy)));
            }
            var outDir = parse.GetValue(output);
            if (outDir is null)
            {
                foreach (var (name, json) in files)
                {
                    await Console.Out.WriteLineAsync($"// {name}").ConfigureAwait(false);
                    await Console.Out.WriteAsync(json).ConfigureAwait(false);
                }
            }
            else
            {
                Directory.CreateDirectory(outDir);
                foreach (var (name, json) in files)
                {
                    var path = Path.Combine(outDir, name);
                    await File.WriteAllTextAsync(path, json, cancellationToken).ConfigureAwait(false);
                    await Console.Out.WriteLineAsync($"wrote {path}").ConfigureAwait(false);
                }
            }
            foreach (var note in set.Notes)
            {
                await Console.Error.WriteLineAsync($"note: {note}").ConfigureAwait(false);
            }
            return 0;
        }));
        return command;
    }

    private static Command CreateLint()
    {
        var files = new Argument<string[]>("files") { Description = "Policy JSON files (IAM identity, resource, VPC endpoint or SCP)", Arity = ArgumentArity.OneOrMore };
        var command = new Command("lint", "Flag over-broad statements in AWS policies (exit 1 on findings, 2 on malformed files)") { files };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var findings = 0;
            var malformed = 0;
            foreach (var file in parse.GetValue(files)!)
            {
                string text;
                try
                {
                    text = await File.ReadAllTextAsync(file, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    await Console.Error.WriteLineAsync($"{file}: cannot be read: {ex.Message}").ConfigureAwait(false);
                    malformed++;
                    continue;
                }
                try
                {
                    foreach (var finding in PolicyLinter.Lint(file, text))
                    {
                        await Console.Out.WriteLineAsync(finding.ToString()).ConfigureAwait(false);
                        findings++;
                    }
                }
                catch (PolicyFormatException ex)
                {
                    await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
                    malformed++;
                }
            }
            await Console.Error.WriteLineAsync($"aws lint: {findings} finding(s){(malformed > 0 ? $", {malformed} malformed file(s)" : "")}").ConfigureAwait(false);
            return malformed > 0 ? 2 : findings > 0 ? 1 : 0;
        });
        return command;
    }
}
