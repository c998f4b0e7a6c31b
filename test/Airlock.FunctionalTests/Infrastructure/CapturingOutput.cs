using System.Collections.Concurrent;
using System.Text.Json;

namespace Airlock.FunctionalTests.Infrastructure;

/// <summary>
/// The test's output, also kept line by line so a test can search everything the gateway logged for a credential
/// (issue 4: "cloud credentials never appear in logs or errors").
/// </summary>
internal sealed class CapturingOutput(ITestOutputHelper inner) : ITestOutputHelper
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public List<string> Secrets { get; } = [];

    public void WriteLine(string message)
    {
        Lines.Enqueue(message);
        inner.WriteLine(message);
    }

    public void WriteLine(string format, params object[] args) => WriteLine(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, args));

    /// <summary>Every 40-character run of the service-account file's private key (the file the harness wrote).</summary>
    public void AddServiceAccountKey(string dataDir)
    {
        foreach (var file in Directory.EnumerateFiles(dataDir, "*.json", SearchOption.AllDirectories))
        {
            using var document = JsonDocument.Parse(File.ReadAllText(file));
            if (document.RootElement.TryGetProperty("private_key", out var key))
            {
                var body = string.Concat(key.GetString()!.Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal)));
                for (var i = 0; i + 40 <= body.Length; i += 40)
                {
                    Secrets.Add(body.Substring(i, 40));
                }
                Secrets.Add("PRIVATE KEY");
            }
        }
    }

    /// <summary>Asserts that none of <see cref="Secrets"/> is in <paramref name="text"/> (an error body, an audit row); <paramref name="where"/> names it.</summary>
    public void AssertNoSecretIn(string text, string where)
    {
        Assert.Contains(Secrets, s => s.Length > 0);
        foreach (var secret in Secrets)
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"a credential is in {where}: {text.Replace(secret, "<SECRET>", StringComparison.Ordinal)}");
        }
    }

    public void AssertNoSecret()
    {
        Assert.Contains(Secrets, s => s.Length > 0);
        foreach (var line in Lines)
        {
            foreach (var secret in Secrets)
            {
                Assert.False(line.Contains(secret, StringComparison.Ordinal), $"a credential is in the log: {line.Replace(secret, "<SECRET>", StringComparison.Ordinal)}");
            }
        }
    }
}
