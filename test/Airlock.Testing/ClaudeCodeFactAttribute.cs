using Xunit;

namespace Airlock.Testing;

/// <summary>
/// A <see cref="FactAttribute"/> for tests that run the real Claude Code CLI. Without the CLI the test is
/// skipped with the install instruction, except under CI (<c>CI=true</c>) where it runs and fails with
/// that message: a CI run must never pass by skipping the end-to-end tests.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class ClaudeCodeFactAttribute : FactAttribute
{
    public ClaudeCodeFactAttribute()
    {
        if (!ClaudeCodeCli.IsInstalled && !ClaudeCodeCli.IsContinuousIntegration)
        {
            Skip = ClaudeCodeCli.NotInstalledMessage;
        }
    }
}
