using System.Text.Json;

namespace Airlock.ClaudeCode.Hooks;

/// <summary>The developer's credential for the gateway, as <c>airlock-hook login</c> stores it.</summary>
/// <param name="Gateway">Gateway base URL.</param>
/// <param name="Key">The developer's long-lived Airlock key (exchanged for short-lived keys; used for events and policy).</param>
public sealed record HookCredential(string Gateway, string Key);

/// <summary>
/// The hook's folder on the developer's machine (default <c>~/.airlock</c>, or <c>AIRLOCK_HOOK_HOME</c>):
/// <c>credentials.json</c> (0600), <c>session-key.json</c> (0600, the cached short-lived key),
/// <c>policy.json</c> (the cached policy) and <c>queue/</c> (events not yet delivered).
/// </summary>
public sealed class HookState
{
    /// <summary>Names the folder instead of <c>~/.airlock</c>.</summary>
    public const string HomeVariable = "AIRLOCK_HOOK_HOME";

    /// <summary>Overrides the stored gateway URL.</summary>
    public const string GatewayVariable = "AIRLOCK_GATEWAY_URL";

    /// <summary>Overrides the stored developer key (CI machines, containers).</summary>
    public const string KeyVariable = "AIRLOCK_API_KEY";

    public HookState(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        Directory = directory;
    }

    public string Directory { get; }

    public string CredentialsPath => Path.Combine(Directory, "credentials.json");

    public string SessionKeyPath => Path.Combine(Directory, "session-key.json");

    public string PolicyPath => Path.Combine(Directory, "policy.json");

    public string QueueDirectory => Path.Combine(Directory, "queue");

    /// <summary>The folder named by <see cref="HomeVariable"/>, else <c>$HOME/.airlock</c>.</summary>
    public static HookState FromEnvironment(Func<string, string?> getEnvironment)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        if (getEnvironment(HomeVariable) is { Length: > 0 } explicitHome)
        {
            return new HookState(explicitHome);
        }
        var home = getEnvironment("HOME") ?? getEnvironment("USERPROFILE") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new HookState(Path.Combine(home, ".airlock"));
    }

    /// <summary>The stored credential with environment overrides applied; null when neither has a key.</summary>
    public HookCredential? ReadCredential(Func<string, string?> getEnvironment, string? gatewayOverride = null)
    {
        ArgumentNullException.ThrowIfNull(getEnvironment);
        string? gateway = null;
        string? key = null;
        try
        {
            if (File.Exists(CredentialsPath))
            {
                using var document = JsonDocument.Parse(File.ReadAllBytes(CredentialsPath));
                var root = document.RootElement;
                gateway = root.TryGetProperty("gateway", out var g) && g.ValueKind == JsonValueKind.String ? g.GetString() : null;
                key = root.TryGetProperty("key", out var k) && k.ValueKind == JsonValueKind.String ? k.GetString() : null;
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            // An unreadable file is the same as none; doctor reports it.
        }
        gateway = gatewayOverride ?? NonEmpty(getEnvironment(GatewayVariable)) ?? gateway;
        key = NonEmpty(getEnvironment(KeyVariable)) ?? key;
        return gateway is null || key is null ? null : new HookCredential(gateway.TrimEnd('/'), key);
    }

    /// <summary>Stores the credential, readable by the owner only.</summary>
    public void WriteCredential(HookCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("gateway", credential.Gateway);
            writer.WriteString("key", credential.Key);
            writer.WriteEndObject();
        }
        WritePrivate(CredentialsPath, buffer.ToArray());
    }

    /// <summary>Writes a file atomically (temp + rename) with mode 0600 on Unix.</summary>
    public void WritePrivate(string path, byte[] content)
    {
        ArgumentNullException.ThrowIfNull(content);
        EnsureDirectory();
        var temp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temp, options))
        {
            stream.Write(content);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Creates the folder (0700 on Unix) if needed.</summary>
    public void EnsureDirectory()
    {
        if (System.IO.Directory.Exists(Directory))
        {
            return;
        }
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}
