// Texts for tip, status and result codes in every language the SDK speaks.
// The server localises the tips and results it sends in the token language
// (English or Chinese, spec §3.7); these tables fill in when it sends a code
// without text, when the page shows a language the token cannot name, and for
// the failures the SDK detects itself. Every table has exactly the keys of EN
// (sdk/test/i18n.test.mjs).

const EN = {
  // Tips (spec §3.4).
  NoFaceFound: 'Place your face inside the circle',
  InvalidFaceYaw: 'Look straight at the screen',
  InvalidFacePitch: 'Keep your head level and face the screen',
  InvalidFaceEyeOcclusion: 'Make sure your eyes are not covered',
  InvalidFaceMouth: 'Make sure your mouth is not covered',
  TooFarAwayFromCamera: 'Move a little closer',
  TooCloseFromCamera: 'Move back a little',
  InvalidFaceOutOfImage: 'Keep your whole face inside the circle',
  MultipleFaces: 'Make sure only one person is in view',
  TooDark: 'It is too dark. Find a brighter place',
  TooBright: 'Too much light. Avoid direct light on your face',
  FaceBlur: 'The image is blurry. Hold your device steady',
  KeepStill: 'Keep still',
  ScreenBrightnessLow: 'Turn your screen brightness up',

  // Status (spec §3.4).
  CAMERA_REQUESTING: 'Requesting camera access…',
  CAMERA_READY: 'Camera ready',
  WS_CONNECTING: 'Connecting…',
  WS_CONNECTED: 'Connected',
  RTC_CONNECTING: 'Starting the video…',
  RTC_CONNECTED: 'Video started',
  MIRROR: 'Checking your position',
  FLASHING: 'Keep still while the screen changes colour',
  UPLOADING: 'Sending…',
  EVALUATING: 'Checking…',
  FINISHED: 'Finished',

  // Results (spec §3.5).
  SUCCESS: 'Verification complete.',
  LIVENESS_FAILED: 'We could not confirm that it was you. Please try again.',
  MORE_RETRY_TIMES: 'No attempts are left for this verification.',
  MIRROR_TIMEOUT: 'Your face was not detected in time.',
  TOKEN_INVALID: 'This verification link is not valid.',
  TOKEN_EXPIRED: 'This verification link has expired.',
  TOKEN_FINISHED: 'This verification has already been completed.',
  PERMISSIONS_ERROR: 'Camera access was not allowed.',
  SUPPORT_ERROR: 'This browser cannot use the camera for verification.',
  NETWORK_ERROR: 'The connection was lost. Check your network and try again.',
  INTERNAL_ERROR: 'Something went wrong. Please try again later.',
  SUPERSEDED: 'This verification was opened in another window.',
  TOO_MANY_ATTEMPTS: 'Too many attempts from this network. Please try again later.',

  PLAY_VIDEO: 'Tap to start the camera',

  // Details of camera failures (after the result text or instead of it).
  CAMERA_TIMEOUT: 'Camera permission was not granted in time.',
  CAMERA_IN_USE: 'The camera is being used by another app.',
  NO_CAMERA: 'No camera was found.',
  HTTPS_REQUIRED: 'The page must be served over HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Warning: the screen will flash bright colours, changing up to 4 times a second for up to 5 seconds. If you are sensitive to flashing light or have photosensitive epilepsy, do not continue.',
  PHOTOSENSITIVITY_CONTINUE: 'Continue',
  PHOTOSENSITIVITY_DECLINE: 'Not now',
};

const ZH = {
  NoFaceFound: '请将脸部置于圆框内',
  InvalidFaceYaw: '请正对屏幕，不要侧脸',
  InvalidFacePitch: '请保持头部端正，不要抬头或低头',
  InvalidFaceEyeOcclusion: '请勿遮挡眼睛',
  InvalidFaceMouth: '请勿遮挡嘴巴',
  TooFarAwayFromCamera: '请靠近一点',
  TooCloseFromCamera: '请离远一点',
  InvalidFaceOutOfImage: '请将整张脸保持在圆框内',
  MultipleFaces: '请确保画面中只有一人',
  TooDark: '光线太暗，请换到明亮的地方',
  TooBright: '光线太强，请避免强光直射面部',
  FaceBlur: '画面模糊，请拿稳设备',
  KeepStill: '请保持不动',
  ScreenBrightnessLow: '请调高屏幕亮度',

  CAMERA_REQUESTING: '正在请求摄像头权限…',
  CAMERA_READY: '摄像头已就绪',
  WS_CONNECTING: '正在连接…',
  WS_CONNECTED: '已连接',
  RTC_CONNECTING: '正在启动视频…',
  RTC_CONNECTED: '视频已启动',
  MIRROR: '正在检查位置',
  FLASHING: '屏幕变色期间请保持不动',
  UPLOADING: '正在上传…',
  EVALUATING: '正在核验…',
  FINISHED: '已结束',

  SUCCESS: '验证完成。',
  LIVENESS_FAILED: '未能确认是您本人，请重试。',
  MORE_RETRY_TIMES: '本次验证的尝试次数已用完。',
  MIRROR_TIMEOUT: '未能及时检测到人脸。',
  TOKEN_INVALID: '验证链接无效。',
  TOKEN_EXPIRED: '验证链接已过期。',
  TOKEN_FINISHED: '该验证已完成。',
  PERMISSIONS_ERROR: '未获得摄像头权限。',
  SUPPORT_ERROR: '当前浏览器无法使用摄像头进行验证。',
  NETWORK_ERROR: '网络连接中断，请检查网络后重试。',
  INTERNAL_ERROR: '系统出现问题，请稍后再试。',
  SUPERSEDED: '该验证已在其他窗口中打开。',
  TOO_MANY_ATTEMPTS: '此网络的尝试次数过多，请稍后再试。',

  PLAY_VIDEO: '点击开启摄像头',

  CAMERA_TIMEOUT: '等待摄像头权限超时。',
  CAMERA_IN_USE: '摄像头正被其他应用使用。',
  NO_CAMERA: '未找到摄像头。',
  HTTPS_REQUIRED: '页面需通过 HTTPS 访问。',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: '警告：屏幕将闪烁明亮的颜色，每秒最多变换 4 次，最长持续 5 秒。如果您对闪光敏感或患有光敏性癫痫，请不要继续。',
  PHOTOSENSITIVITY_CONTINUE: '继续',
  PHOTOSENSITIVITY_DECLINE: '暂不继续',
};

const ES = {
  NoFaceFound: 'Coloca tu cara dentro del círculo',
  InvalidFaceYaw: 'Mira de frente a la pantalla',
  InvalidFacePitch: 'Mantén la cabeza recta y mira a la pantalla',
  InvalidFaceEyeOcclusion: 'Asegúrate de que tus ojos no estén tapados',
  InvalidFaceMouth: 'Asegúrate de que tu boca no esté tapada',
  TooFarAwayFromCamera: 'Acércate un poco',
  TooCloseFromCamera: 'Aléjate un poco',
  InvalidFaceOutOfImage: 'Mantén toda la cara dentro del círculo',
  MultipleFaces: 'Asegúrate de que solo haya una persona',
  TooDark: 'Hay poca luz. Busca un lugar más iluminado',
  TooBright: 'Hay demasiada luz. Evita la luz directa en la cara',
  FaceBlur: 'La imagen está borrosa. Sujeta el dispositivo sin moverlo',
  KeepStill: 'No te muevas',
  ScreenBrightnessLow: 'Sube el brillo de la pantalla',

  CAMERA_REQUESTING: 'Solicitando acceso a la cámara…',
  CAMERA_READY: 'Cámara lista',
  WS_CONNECTING: 'Conectando…',
  WS_CONNECTED: 'Conectado',
  RTC_CONNECTING: 'Iniciando el vídeo…',
  RTC_CONNECTED: 'Vídeo iniciado',
  MIRROR: 'Comprobando tu posición',
  FLASHING: 'No te muevas mientras la pantalla cambia de color',
  UPLOADING: 'Enviando…',
  EVALUATING: 'Comprobando…',
  FINISHED: 'Terminado',

  SUCCESS: 'Verificación completada.',
  LIVENESS_FAILED: 'No pudimos confirmar que eras tú. Inténtalo de nuevo.',
  MORE_RETRY_TIMES: 'No quedan intentos para esta verificación.',
  MIRROR_TIMEOUT: 'No se detectó tu cara a tiempo.',
  TOKEN_INVALID: 'Este enlace de verificación no es válido.',
  TOKEN_EXPIRED: 'Este enlace de verificación ha caducado.',
  TOKEN_FINISHED: 'Esta verificación ya se completó.',
  PERMISSIONS_ERROR: 'No se permitió el acceso a la cámara.',
  SUPPORT_ERROR: 'Este navegador no puede usar la cámara para la verificación.',
  NETWORK_ERROR: 'Se perdió la conexión. Revisa tu red e inténtalo de nuevo.',
  INTERNAL_ERROR: 'Algo salió mal. Inténtalo más tarde.',
  SUPERSEDED: 'Esta verificación se abrió en otra ventana.',
  TOO_MANY_ATTEMPTS: 'Demasiados intentos desde esta red. Inténtalo más tarde.',

  PLAY_VIDEO: 'Toca para iniciar la cámara',

  CAMERA_TIMEOUT: 'No se concedió el permiso de la cámara a tiempo.',
  CAMERA_IN_USE: 'Otra aplicación está usando la cámara.',
  NO_CAMERA: 'No se encontró ninguna cámara.',
  HTTPS_REQUIRED: 'La página debe abrirse por HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Aviso: la pantalla destellará colores intensos, cambiando hasta 4 veces por segundo durante un máximo de 5 segundos. Si es sensible a las luces intermitentes o tiene epilepsia fotosensible, no continúe.',
  PHOTOSENSITIVITY_CONTINUE: 'Continuar',
  PHOTOSENSITIVITY_DECLINE: 'Ahora no',
};

const FR = {
  NoFaceFound: 'Placez votre visage dans le cercle',
  InvalidFaceYaw: "Regardez l'écran bien en face",
  InvalidFacePitch: "Gardez la tête droite, face à l'écran",
  InvalidFaceEyeOcclusion: 'Vérifiez que vos yeux ne sont pas cachés',
  InvalidFaceMouth: "Vérifiez que votre bouche n'est pas cachée",
  TooFarAwayFromCamera: 'Approchez-vous un peu',
  TooCloseFromCamera: 'Reculez un peu',
  InvalidFaceOutOfImage: 'Gardez tout votre visage dans le cercle',
  MultipleFaces: 'Une seule personne doit être visible',
  TooDark: 'Il fait trop sombre. Trouvez un endroit plus lumineux',
  TooBright: 'Trop de lumière. Évitez la lumière directe sur le visage',
  FaceBlur: "L'image est floue. Tenez votre appareil immobile",
  KeepStill: 'Ne bougez pas',
  ScreenBrightnessLow: "Augmentez la luminosité de l'écran",

  CAMERA_REQUESTING: 'Demande d’accès à la caméra…',
  CAMERA_READY: 'Caméra prête',
  WS_CONNECTING: 'Connexion…',
  WS_CONNECTED: 'Connecté',
  RTC_CONNECTING: 'Démarrage de la vidéo…',
  RTC_CONNECTED: 'Vidéo démarrée',
  MIRROR: 'Vérification de votre position',
  FLASHING: "Ne bougez pas pendant que l'écran change de couleur",
  UPLOADING: 'Envoi…',
  EVALUATING: 'Vérification…',
  FINISHED: 'Terminé',

  SUCCESS: 'Vérification terminée.',
  LIVENESS_FAILED: "Nous n'avons pas pu confirmer que c'était vous. Veuillez réessayer.",
  MORE_RETRY_TIMES: "Il ne reste plus d'essai pour cette vérification.",
  MIRROR_TIMEOUT: "Votre visage n'a pas été détecté à temps.",
  TOKEN_INVALID: "Ce lien de vérification n'est pas valide.",
  TOKEN_EXPIRED: 'Ce lien de vérification a expiré.',
  TOKEN_FINISHED: 'Cette vérification est déjà terminée.',
  PERMISSIONS_ERROR: "L'accès à la caméra n'a pas été autorisé.",
  SUPPORT_ERROR: 'Ce navigateur ne peut pas utiliser la caméra pour la vérification.',
  NETWORK_ERROR: 'La connexion a été perdue. Vérifiez votre réseau et réessayez.',
  INTERNAL_ERROR: 'Un problème est survenu. Veuillez réessayer plus tard.',
  SUPERSEDED: 'Cette vérification a été ouverte dans une autre fenêtre.',
  TOO_MANY_ATTEMPTS: 'Trop de tentatives depuis ce réseau. Veuillez réessayer plus tard.',

  PLAY_VIDEO: 'Touchez pour démarrer la caméra',

  CAMERA_TIMEOUT: "L'autorisation de la caméra n'a pas été donnée à temps.",
  CAMERA_IN_USE: 'La caméra est utilisée par une autre application.',
  NO_CAMERA: 'Aucune caméra trouvée.',
  HTTPS_REQUIRED: 'La page doit être ouverte en HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Avertissement : l’écran va clignoter en couleurs vives, jusqu’à 4 changements par seconde pendant 5 secondes au plus. Si vous êtes sensible aux lumières clignotantes ou souffrez d’épilepsie photosensible, ne continuez pas.',
  PHOTOSENSITIVITY_CONTINUE: 'Continuer',
  PHOTOSENSITIVITY_DECLINE: 'Pas maintenant',
};

const DE = {
  NoFaceFound: 'Bringen Sie Ihr Gesicht in den Kreis',
  InvalidFaceYaw: 'Schauen Sie direkt auf den Bildschirm',
  InvalidFacePitch: 'Halten Sie den Kopf gerade und schauen Sie auf den Bildschirm',
  InvalidFaceEyeOcclusion: 'Achten Sie darauf, dass Ihre Augen nicht verdeckt sind',
  InvalidFaceMouth: 'Achten Sie darauf, dass Ihr Mund nicht verdeckt ist',
  TooFarAwayFromCamera: 'Kommen Sie etwas näher',
  TooCloseFromCamera: 'Gehen Sie etwas zurück',
  InvalidFaceOutOfImage: 'Halten Sie Ihr ganzes Gesicht im Kreis',
  MultipleFaces: 'Nur eine Person darf zu sehen sein',
  TooDark: 'Es ist zu dunkel. Suchen Sie einen helleren Ort',
  TooBright: 'Zu viel Licht. Vermeiden Sie direktes Licht im Gesicht',
  FaceBlur: 'Das Bild ist unscharf. Halten Sie das Gerät ruhig',
  KeepStill: 'Bitte stillhalten',
  ScreenBrightnessLow: 'Erhöhen Sie die Bildschirmhelligkeit',

  CAMERA_REQUESTING: 'Kamerazugriff wird angefragt…',
  CAMERA_READY: 'Kamera bereit',
  WS_CONNECTING: 'Verbindung wird hergestellt…',
  WS_CONNECTED: 'Verbunden',
  RTC_CONNECTING: 'Video wird gestartet…',
  RTC_CONNECTED: 'Video gestartet',
  MIRROR: 'Ihre Position wird geprüft',
  FLASHING: 'Halten Sie still, während der Bildschirm die Farbe wechselt',
  UPLOADING: 'Wird gesendet…',
  EVALUATING: 'Wird geprüft…',
  FINISHED: 'Fertig',

  SUCCESS: 'Verifizierung abgeschlossen.',
  LIVENESS_FAILED: 'Wir konnten nicht bestätigen, dass Sie es sind. Bitte versuchen Sie es erneut.',
  MORE_RETRY_TIMES: 'Für diese Verifizierung sind keine Versuche mehr übrig.',
  MIRROR_TIMEOUT: 'Ihr Gesicht wurde nicht rechtzeitig erkannt.',
  TOKEN_INVALID: 'Dieser Verifizierungslink ist ungültig.',
  TOKEN_EXPIRED: 'Dieser Verifizierungslink ist abgelaufen.',
  TOKEN_FINISHED: 'Diese Verifizierung wurde bereits abgeschlossen.',
  PERMISSIONS_ERROR: 'Der Kamerazugriff wurde nicht erlaubt.',
  SUPPORT_ERROR: 'Dieser Browser kann die Kamera nicht für die Verifizierung nutzen.',
  NETWORK_ERROR: 'Die Verbindung wurde unterbrochen. Prüfen Sie Ihr Netzwerk und versuchen Sie es erneut.',
  INTERNAL_ERROR: 'Etwas ist schiefgelaufen. Bitte versuchen Sie es später erneut.',
  SUPERSEDED: 'Diese Verifizierung wurde in einem anderen Fenster geöffnet.',
  TOO_MANY_ATTEMPTS: 'Zu viele Versuche aus diesem Netzwerk. Bitte versuchen Sie es später erneut.',

  PLAY_VIDEO: 'Tippen, um die Kamera zu starten',

  CAMERA_TIMEOUT: 'Der Kamerazugriff wurde nicht rechtzeitig erlaubt.',
  CAMERA_IN_USE: 'Die Kamera wird von einer anderen App verwendet.',
  NO_CAMERA: 'Es wurde keine Kamera gefunden.',
  HTTPS_REQUIRED: 'Die Seite muss über HTTPS geladen werden.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Warnung: Der Bildschirm blinkt in kräftigen Farben und wechselt bis zu 4-mal pro Sekunde, höchstens 5 Sekunden lang. Wenn Sie empfindlich auf Lichtblitze reagieren oder an fotosensitiver Epilepsie leiden, fahren Sie nicht fort.',
  PHOTOSENSITIVITY_CONTINUE: 'Weiter',
  PHOTOSENSITIVITY_DECLINE: 'Nicht jetzt',
};

const PT = {
  NoFaceFound: 'Coloque o rosto dentro do círculo',
  InvalidFaceYaw: 'Olhe diretamente para a tela',
  InvalidFacePitch: 'Mantenha a cabeça reta e olhe para a tela',
  InvalidFaceEyeOcclusion: 'Verifique se seus olhos não estão cobertos',
  InvalidFaceMouth: 'Verifique se sua boca não está coberta',
  TooFarAwayFromCamera: 'Chegue um pouco mais perto',
  TooCloseFromCamera: 'Afaste-se um pouco',
  InvalidFaceOutOfImage: 'Mantenha o rosto inteiro dentro do círculo',
  MultipleFaces: 'Apenas uma pessoa deve aparecer',
  TooDark: 'Está muito escuro. Procure um lugar mais claro',
  TooBright: 'Há luz demais. Evite luz direta no rosto',
  FaceBlur: 'A imagem está borrada. Segure o aparelho firme',
  KeepStill: 'Fique parado',
  ScreenBrightnessLow: 'Aumente o brilho da tela',

  CAMERA_REQUESTING: 'Pedindo acesso à câmera…',
  CAMERA_READY: 'Câmera pronta',
  WS_CONNECTING: 'Conectando…',
  WS_CONNECTED: 'Conectado',
  RTC_CONNECTING: 'Iniciando o vídeo…',
  RTC_CONNECTED: 'Vídeo iniciado',
  MIRROR: 'Verificando sua posição',
  FLASHING: 'Fique parado enquanto a tela muda de cor',
  UPLOADING: 'Enviando…',
  EVALUATING: 'Verificando…',
  FINISHED: 'Concluído',

  SUCCESS: 'Verificação concluída.',
  LIVENESS_FAILED: 'Não conseguimos confirmar que era você. Tente novamente.',
  MORE_RETRY_TIMES: 'Não há mais tentativas para esta verificação.',
  MIRROR_TIMEOUT: 'Seu rosto não foi detectado a tempo.',
  TOKEN_INVALID: 'Este link de verificação não é válido.',
  TOKEN_EXPIRED: 'Este link de verificação expirou.',
  TOKEN_FINISHED: 'Esta verificação já foi concluída.',
  PERMISSIONS_ERROR: 'O acesso à câmera não foi permitido.',
  SUPPORT_ERROR: 'Este navegador não pode usar a câmera para a verificação.',
  NETWORK_ERROR: 'A conexão caiu. Verifique sua rede e tente novamente.',
  INTERNAL_ERROR: 'Algo deu errado. Tente novamente mais tarde.',
  SUPERSEDED: 'Esta verificação foi aberta em outra janela.',
  TOO_MANY_ATTEMPTS: 'Muitas tentativas desta rede. Tente novamente mais tarde.',

  PLAY_VIDEO: 'Toque para iniciar a câmera',

  CAMERA_TIMEOUT: 'A permissão da câmera não foi dada a tempo.',
  CAMERA_IN_USE: 'A câmera está sendo usada por outro aplicativo.',
  NO_CAMERA: 'Nenhuma câmera foi encontrada.',
  HTTPS_REQUIRED: 'A página precisa ser aberta via HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Aviso: a tela vai piscar em cores fortes, mudando até 4 vezes por segundo por até 5 segundos. Se você é sensível a luzes piscantes ou tem epilepsia fotossensível, não continue.',
  PHOTOSENSITIVITY_CONTINUE: 'Continuar',
  PHOTOSENSITIVITY_DECLINE: 'Agora não',
};

const RU = {
  NoFaceFound: 'Поместите лицо в круг',
  InvalidFaceYaw: 'Смотрите прямо на экран',
  InvalidFacePitch: 'Держите голову ровно, лицом к экрану',
  InvalidFaceEyeOcclusion: 'Глаза не должны быть закрыты',
  InvalidFaceMouth: 'Рот не должен быть закрыт',
  TooFarAwayFromCamera: 'Подойдите чуть ближе',
  TooCloseFromCamera: 'Отодвиньтесь немного',
  InvalidFaceOutOfImage: 'Держите всё лицо внутри круга',
  MultipleFaces: 'В кадре должен быть только один человек',
  TooDark: 'Слишком темно. Найдите место посветлее',
  TooBright: 'Слишком ярко. Избегайте прямого света на лицо',
  FaceBlur: 'Изображение размыто. Держите устройство неподвижно',
  KeepStill: 'Не двигайтесь',
  ScreenBrightnessLow: 'Увеличьте яркость экрана',

  CAMERA_REQUESTING: 'Запрашиваем доступ к камере…',
  CAMERA_READY: 'Камера готова',
  WS_CONNECTING: 'Подключение…',
  WS_CONNECTED: 'Подключено',
  RTC_CONNECTING: 'Запуск видео…',
  RTC_CONNECTED: 'Видео запущено',
  MIRROR: 'Проверяем положение',
  FLASHING: 'Не двигайтесь, пока экран меняет цвет',
  UPLOADING: 'Отправка…',
  EVALUATING: 'Проверка…',
  FINISHED: 'Готово',

  SUCCESS: 'Проверка завершена.',
  LIVENESS_FAILED: 'Не удалось подтвердить, что это вы. Попробуйте ещё раз.',
  MORE_RETRY_TIMES: 'Попыток для этой проверки больше не осталось.',
  MIRROR_TIMEOUT: 'Лицо не удалось обнаружить вовремя.',
  TOKEN_INVALID: 'Эта ссылка для проверки недействительна.',
  TOKEN_EXPIRED: 'Срок действия ссылки для проверки истёк.',
  TOKEN_FINISHED: 'Эта проверка уже завершена.',
  PERMISSIONS_ERROR: 'Доступ к камере не разрешён.',
  SUPPORT_ERROR: 'Этот браузер не может использовать камеру для проверки.',
  NETWORK_ERROR: 'Соединение потеряно. Проверьте сеть и попробуйте ещё раз.',
  INTERNAL_ERROR: 'Что-то пошло не так. Попробуйте позже.',
  SUPERSEDED: 'Эта проверка открыта в другом окне.',
  TOO_MANY_ATTEMPTS: 'Слишком много попыток из этой сети. Попробуйте позже.',

  PLAY_VIDEO: 'Нажмите, чтобы включить камеру',

  CAMERA_TIMEOUT: 'Доступ к камере не был разрешён вовремя.',
  CAMERA_IN_USE: 'Камера занята другим приложением.',
  NO_CAMERA: 'Камера не найдена.',
  HTTPS_REQUIRED: 'Страница должна открываться по HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'Внимание: экран будет мигать яркими цветами, меняя их до 4 раз в секунду в течение не более 5 секунд. Если вы чувствительны к мигающему свету или у вас фоточувствительная эпилепсия, не продолжайте.',
  PHOTOSENSITIVITY_CONTINUE: 'Продолжить',
  PHOTOSENSITIVITY_DECLINE: 'Не сейчас',
};

const AR = {
  NoFaceFound: 'ضع وجهك داخل الدائرة',
  InvalidFaceYaw: 'انظر مباشرة إلى الشاشة',
  InvalidFacePitch: 'أبقِ رأسك مستقيمًا ووجهك نحو الشاشة',
  InvalidFaceEyeOcclusion: 'تأكد من أن عينيك غير مغطاتين',
  InvalidFaceMouth: 'تأكد من أن فمك غير مغطى',
  TooFarAwayFromCamera: 'اقترب قليلًا',
  TooCloseFromCamera: 'ابتعد قليلًا',
  InvalidFaceOutOfImage: 'أبقِ وجهك كاملًا داخل الدائرة',
  MultipleFaces: 'تأكد من وجود شخص واحد فقط في الصورة',
  TooDark: 'المكان مظلم جدًا. انتقل إلى مكان أكثر إضاءة',
  TooBright: 'الضوء قوي جدًا. تجنب الضوء المباشر على وجهك',
  FaceBlur: 'الصورة غير واضحة. أمسك جهازك بثبات',
  KeepStill: 'لا تتحرك',
  ScreenBrightnessLow: 'ارفع سطوع الشاشة',

  CAMERA_REQUESTING: 'جارٍ طلب الوصول إلى الكاميرا…',
  CAMERA_READY: 'الكاميرا جاهزة',
  WS_CONNECTING: 'جارٍ الاتصال…',
  WS_CONNECTED: 'تم الاتصال',
  RTC_CONNECTING: 'جارٍ تشغيل الفيديو…',
  RTC_CONNECTED: 'بدأ الفيديو',
  MIRROR: 'جارٍ التحقق من وضعيتك',
  FLASHING: 'لا تتحرك أثناء تغيّر لون الشاشة',
  UPLOADING: 'جارٍ الإرسال…',
  EVALUATING: 'جارٍ التحقق…',
  FINISHED: 'انتهى',

  SUCCESS: 'اكتمل التحقق.',
  LIVENESS_FAILED: 'لم نتمكن من التأكد من أنك أنت. يرجى المحاولة مرة أخرى.',
  MORE_RETRY_TIMES: 'لم تتبقَّ محاولات لهذا التحقق.',
  MIRROR_TIMEOUT: 'لم يتم اكتشاف وجهك في الوقت المحدد.',
  TOKEN_INVALID: 'رابط التحقق هذا غير صالح.',
  TOKEN_EXPIRED: 'انتهت صلاحية رابط التحقق هذا.',
  TOKEN_FINISHED: 'تم إكمال هذا التحقق بالفعل.',
  PERMISSIONS_ERROR: 'لم يُسمح بالوصول إلى الكاميرا.',
  SUPPORT_ERROR: 'لا يمكن لهذا المتصفح استخدام الكاميرا للتحقق.',
  NETWORK_ERROR: 'انقطع الاتصال. تحقق من الشبكة وحاول مرة أخرى.',
  INTERNAL_ERROR: 'حدث خطأ ما. يرجى المحاولة لاحقًا.',
  SUPERSEDED: 'تم فتح هذا التحقق في نافذة أخرى.',
  TOO_MANY_ATTEMPTS: 'محاولات كثيرة جدًا من هذه الشبكة. يرجى المحاولة لاحقًا.',

  PLAY_VIDEO: 'اضغط لتشغيل الكاميرا',

  CAMERA_TIMEOUT: 'لم يتم منح إذن الكاميرا في الوقت المحدد.',
  CAMERA_IN_USE: 'الكاميرا مستخدمة من تطبيق آخر.',
  NO_CAMERA: 'لم يتم العثور على كاميرا.',
  HTTPS_REQUIRED: 'يجب فتح الصفحة عبر HTTPS.',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'تحذير: ستومض الشاشة بألوان ساطعة، وتتغير حتى 4 مرات في الثانية لمدة تصل إلى 5 ثوانٍ. إذا كنت حساسًا للضوء الوامض أو مصابًا بالصرع الحساس للضوء، فلا تتابع.',
  PHOTOSENSITIVITY_CONTINUE: 'متابعة',
  PHOTOSENSITIVITY_DECLINE: 'ليس الآن',
};

const HI = {
  NoFaceFound: 'अपना चेहरा घेरे के अंदर रखें',
  InvalidFaceYaw: 'सीधे स्क्रीन की ओर देखें',
  InvalidFacePitch: 'सिर सीधा रखें और स्क्रीन की ओर देखें',
  InvalidFaceEyeOcclusion: 'ध्यान रखें कि आपकी आँखें ढकी न हों',
  InvalidFaceMouth: 'ध्यान रखें कि आपका मुँह ढका न हो',
  TooFarAwayFromCamera: 'थोड़ा पास आएँ',
  TooCloseFromCamera: 'थोड़ा पीछे हटें',
  InvalidFaceOutOfImage: 'पूरा चेहरा घेरे के अंदर रखें',
  MultipleFaces: 'ध्यान रखें कि फ़्रेम में केवल एक व्यक्ति हो',
  TooDark: 'बहुत अँधेरा है। किसी रोशनी वाली जगह पर जाएँ',
  TooBright: 'रोशनी बहुत तेज़ है। चेहरे पर सीधी रोशनी से बचें',
  FaceBlur: 'तस्वीर धुँधली है। डिवाइस को स्थिर रखें',
  KeepStill: 'हिलें नहीं',
  ScreenBrightnessLow: 'स्क्रीन की चमक बढ़ाएँ',

  CAMERA_REQUESTING: 'कैमरा की अनुमति माँगी जा रही है…',
  CAMERA_READY: 'कैमरा तैयार है',
  WS_CONNECTING: 'कनेक्ट हो रहा है…',
  WS_CONNECTED: 'कनेक्ट हो गया',
  RTC_CONNECTING: 'वीडियो शुरू हो रहा है…',
  RTC_CONNECTED: 'वीडियो शुरू हो गया',
  MIRROR: 'आपकी स्थिति जाँची जा रही है',
  FLASHING: 'स्क्रीन का रंग बदलते समय हिलें नहीं',
  UPLOADING: 'भेजा जा रहा है…',
  EVALUATING: 'जाँच हो रही है…',
  FINISHED: 'समाप्त',

  SUCCESS: 'सत्यापन पूरा हुआ।',
  LIVENESS_FAILED: 'हम पुष्टि नहीं कर सके कि यह आप ही हैं। कृपया फिर से कोशिश करें।',
  MORE_RETRY_TIMES: 'इस सत्यापन के लिए कोई प्रयास बाकी नहीं है।',
  MIRROR_TIMEOUT: 'आपका चेहरा समय पर नहीं दिखा।',
  TOKEN_INVALID: 'यह सत्यापन लिंक मान्य नहीं है।',
  TOKEN_EXPIRED: 'यह सत्यापन लिंक समाप्त हो गया है।',
  TOKEN_FINISHED: 'यह सत्यापन पहले ही पूरा हो चुका है।',
  PERMISSIONS_ERROR: 'कैमरा की अनुमति नहीं दी गई।',
  SUPPORT_ERROR: 'यह ब्राउज़र सत्यापन के लिए कैमरा का उपयोग नहीं कर सकता।',
  NETWORK_ERROR: 'कनेक्शन टूट गया। अपना नेटवर्क जाँचें और फिर से कोशिश करें।',
  INTERNAL_ERROR: 'कुछ गड़बड़ हो गई। कृपया बाद में कोशिश करें।',
  SUPERSEDED: 'यह सत्यापन किसी दूसरी विंडो में खोला गया है।',
  TOO_MANY_ATTEMPTS: 'इस नेटवर्क से बहुत अधिक प्रयास हुए। कृपया बाद में कोशिश करें।',

  PLAY_VIDEO: 'कैमरा शुरू करने के लिए टैप करें',

  CAMERA_TIMEOUT: 'कैमरा की अनुमति समय पर नहीं मिली।',
  CAMERA_IN_USE: 'कैमरा किसी दूसरे ऐप में इस्तेमाल हो रहा है।',
  NO_CAMERA: 'कोई कैमरा नहीं मिला।',
  HTTPS_REQUIRED: 'पेज HTTPS पर खोला जाना चाहिए।',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: 'चेतावनी: स्क्रीन चमकीले रंगों में चमकेगी, जो एक सेकंड में 4 बार तक, अधिकतम 5 सेकंड तक बदलेंगे। यदि आप चमकती रोशनी के प्रति संवेदनशील हैं या आपको प्रकाश-संवेदी मिर्गी है, तो आगे न बढ़ें।',
  PHOTOSENSITIVITY_CONTINUE: 'जारी रखें',
  PHOTOSENSITIVITY_DECLINE: 'अभी नहीं',
};

const JA = {
  NoFaceFound: '顔を円の中に入れてください',
  InvalidFaceYaw: '画面を正面から見てください',
  InvalidFacePitch: '頭をまっすぐにして画面を見てください',
  InvalidFaceEyeOcclusion: '目が隠れないようにしてください',
  InvalidFaceMouth: '口が隠れないようにしてください',
  TooFarAwayFromCamera: 'もう少し近づいてください',
  TooCloseFromCamera: 'もう少し離れてください',
  InvalidFaceOutOfImage: '顔全体を円の中に入れてください',
  MultipleFaces: '映るのは1人だけにしてください',
  TooDark: '暗すぎます。明るい場所に移動してください',
  TooBright: '明るすぎます。顔に直接光が当たらないようにしてください',
  FaceBlur: '画像がぼやけています。端末を動かさないでください',
  KeepStill: '動かないでください',
  ScreenBrightnessLow: '画面の明るさを上げてください',

  CAMERA_REQUESTING: 'カメラへのアクセスを要求しています…',
  CAMERA_READY: 'カメラの準備ができました',
  WS_CONNECTING: '接続しています…',
  WS_CONNECTED: '接続しました',
  RTC_CONNECTING: 'ビデオを開始しています…',
  RTC_CONNECTED: 'ビデオを開始しました',
  MIRROR: '位置を確認しています',
  FLASHING: '画面の色が変わる間は動かないでください',
  UPLOADING: '送信しています…',
  EVALUATING: '確認しています…',
  FINISHED: '終了しました',

  SUCCESS: '認証が完了しました。',
  LIVENESS_FAILED: 'ご本人であることを確認できませんでした。もう一度お試しください。',
  MORE_RETRY_TIMES: 'この認証の試行回数が残っていません。',
  MIRROR_TIMEOUT: '時間内に顔を検出できませんでした。',
  TOKEN_INVALID: 'この認証リンクは無効です。',
  TOKEN_EXPIRED: 'この認証リンクは有効期限が切れています。',
  TOKEN_FINISHED: 'この認証はすでに完了しています。',
  PERMISSIONS_ERROR: 'カメラへのアクセスが許可されませんでした。',
  SUPPORT_ERROR: 'このブラウザでは認証にカメラを使用できません。',
  NETWORK_ERROR: '接続が切れました。ネットワークを確認して、もう一度お試しください。',
  INTERNAL_ERROR: '問題が発生しました。しばらくしてからもう一度お試しください。',
  SUPERSEDED: 'この認証は別のウィンドウで開かれました。',
  TOO_MANY_ATTEMPTS: 'このネットワークからの試行が多すぎます。しばらくしてからお試しください。',

  PLAY_VIDEO: 'タップしてカメラを開始',

  CAMERA_TIMEOUT: 'カメラの許可が時間内に得られませんでした。',
  CAMERA_IN_USE: 'カメラは別のアプリで使用中です。',
  NO_CAMERA: 'カメラが見つかりません。',
  HTTPS_REQUIRED: 'このページは HTTPS で開く必要があります。',

  // Before the colours (photosensitivityWarning).
  PHOTOSENSITIVITY_WARNING: '注意：画面が明るい色で点滅し、毎秒最大4回、最長5秒間色が変わります。点滅する光に敏感な方や光過敏性てんかんのある方は、続けないでください。',
  PHOTOSENSITIVITY_CONTINUE: '続ける',
  PHOTOSENSITIVITY_DECLINE: '今はやめる',
};

/** Every language with texts, English first (the fallback). */
export const LANGUAGES = Object.freeze(['en', 'zh', 'es', 'fr', 'de', 'pt', 'ru', 'ar', 'hi', 'ja']);

/** Languages written right to left. */
export const RTL_LANGUAGES = Object.freeze(['ar']);

export const TABLES = Object.freeze({ en: EN, zh: ZH, es: ES, fr: FR, de: DE, pt: PT, ru: RU, ar: AR, hi: HI, ja: JA });

/**
 * Maps a language as the server or a page gives it to one of LANGUAGES:
 * "0"/"1" (get_token: English/Chinese) or a BCP 47 tag such as "pt-BR" or
 * "zh_Hant" (its primary subtag decides). Anything else is English, the
 * get_token default.
 */
export function normalizeLanguage(lang) {
  if (lang === 1 || lang === '1') return 'zh';
  if (typeof lang !== 'string') return 'en';
  const primary = lang.trim().toLowerCase().split(/[-_]/)[0];
  return Object.prototype.hasOwnProperty.call(TABLES, primary) ? primary : 'en';
}

/** "rtl" for a right-to-left language, else "ltr". */
export function textDirection(lang) {
  return RTL_LANGUAGES.indexOf(normalizeLanguage(lang)) >= 0 ? 'rtl' : 'ltr';
}

/** The text for a tip, status or result code, or '' if the code is unknown. */
export function textFor(code, lang) {
  const t = TABLES[normalizeLanguage(lang)];
  return Object.prototype.hasOwnProperty.call(t, code) ? t[code] : '';
}

/** Joins two sentences: no space after a full-width stop (Chinese, Japanese). */
export function joinSentences(a, b) {
  if (!a || !b) return a || b;
  return /[。！？]$/.test(a) ? a + b : a + ' ' + b;
}
