using System.CommandLine;
using Airlock.Core.Configuration;

namespace Airlock.Cli.Commands;

/// <summary>Options every verb shares, and how a verb finds its configuration.</summary>
internal static class CommonOptions
{
    public const string DefaultConfigPath = "./airlock.yaml";

    public static readonly Option<string> Config = new("--config", "-c")
    {
        Description = "Configuration file (default ./airlock.yaml; without it, quickstart defaults and ./.airlock are used)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Machine-readable JSON output",
    };

    /// <summary>
    /// The file named by --config, or ./airlock.yaml if it exists, or the quickstart defaults.
    /// A file named explicitly must exist: silently falling back would run with the wrong policy.
    /// </summary>
    public static AirlockConfig Load(ParseResult parse)
    {
        var explicitPath = parse.GetValue(Config);
        if (explicitPath is not null)
        {
            return ConfigLoader.LoadFile(explicitPath);
        }
        if (File.Exists(DefaultConfigPath))
        {
            return ConfigLoader.LoadFile(DefaultConfigPath);
        }
        return ConfigLoader.CreateQuickstart("./.airlock", Environment.GetEnvironmentVariable);
    }

    /// <summary>Runs a verb body, turning configuration errors into a listed report and exit code 2.</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body().ConfigureAwait(false);
        }
        catch (ConfigurationException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message).ConfigureAwait(false);
            return 2;
        }
    }
}
