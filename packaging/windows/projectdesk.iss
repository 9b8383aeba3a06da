; Inno Setup 6 script: the Windows installer for the PyInstaller bundle in dist\ProjectDesk\.
;
; Build on Windows, from the repository root (the venv has ProjectDesk installed, Inno Setup 6 is installed):
;   .venv\Scripts\python packaging\build.py --installer      -> dist\ProjectDesk-<version>-setup.exe
; build.py passes every value below from pyproject.toml (through packaging\appinfo.py) as /D defines; this
; file holds no copy of the name, id or version. Not compiled on the Linux machine the rest is tested on.
;
; Installs per user without admin rights (Program Files when run as admin), adds a Start menu entry, an
; optional desktop icon and "Open with ProjectDesk" on folders (Explorer's context menu; on Windows 11 under
; "Show more options"), which starts `projectdesk.exe FOLDER` and opens the upload preview.

#ifndef AppVersion
  #error Compile through packaging\build.py --installer: it defines AppId, AppName, AppVersion and the rest.
#endif

[Setup]
AppId={#AppId}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher={#AppPublisher}
AppPublisherURL={#AppURL}
AppSupportURL={#AppURL}/issues
VersionInfoVersion={#AppVersion}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
OutputBaseFilename={#AppName}-{#AppVersion}-setup
SetupIconFile={#RepoRoot}\packaging\windows\projectdesk.ico
UninstallDisplayIcon={app}\{#AppExeName}
UninstallDisplayName={#AppName}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
; Qt 6.11 runs on Windows 10 1809 or later.
MinVersion=10.0.17763
ChangesAssociations=yes
CloseApplications=yes

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked
Name: "openfolder"; Description: "Add ""Open with {#AppName}"" to the context menu of folders"; GroupDescription: "Explorer:"

[Files]
Source: "{#RepoRoot}\dist\{#AppName}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[InstallDelete]
; A new version may drop files: clear the bundle's library folder before copying.
Type: filesandordirs; Name: "{app}\_internal"

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExeName}"; Comment: "Keep software projects in S3"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExeName}"; Tasks: desktopicon

[Registry]
; "Open with ProjectDesk" on folders: the Windows counterpart of the .desktop file's MimeType=inode/directory.
Root: HKA; Subkey: "Software\Classes\Directory\shell\{#AppId}"; ValueType: string; ValueName: ""; ValueData: "Open with {#AppName}"; Flags: uninsdeletekey; Tasks: openfolder
Root: HKA; Subkey: "Software\Classes\Directory\shell\{#AppId}"; ValueType: string; ValueName: "Icon"; ValueData: """{app}\{#AppExeName}"",0"; Tasks: openfolder
Root: HKA; Subkey: "Software\Classes\Directory\shell\{#AppId}\command"; ValueType: string; ValueName: ""; ValueData: """{app}\{#AppExeName}"" ""%1"""; Tasks: openfolder

[Run]
Filename: "{app}\{#AppExeName}"; Description: "{cm:LaunchProgram,{#StringChange(AppName, '&', '&&')}}"; Flags: nowait postinstall skipifsilent
